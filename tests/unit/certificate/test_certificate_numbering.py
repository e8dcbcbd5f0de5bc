"""Reference numbers: the China Form E pattern, the RCEP analogue, overflow; serial allocation."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from pipeline.application import parse_application
from pipeline.certificate.numbering import (
    DEFAULT_FORMATS_SPEC,
    FORM_E,
    FORM_RCEP,
    ReferenceFormat,
    SerialAllocation,
    SerialsExhausted,
    format_reference,
    format_reference_number,
    parse_reference_formats,
    sequence_key,
    sequence_year_key,
)
from pipeline.errors import BusinessRejection
from pipeline.issuing import CertificateFactory
from pipeline.offices import load_offices
from pipeline.settings import Settings

SAMPLES = Path(__file__).parents[3] / "samples"


def test_form_e_matches_the_published_example() -> None:
    assert format_reference("ACFTA", "380000005", 2019, 45) == "E193800000050045"


def test_rcep_uses_the_r_prefix() -> None:
    assert format_reference("RCEP", "380000005", 2026, 1) == "R263800000050001"


def test_alphanumeric_registrations_are_allowed() -> None:
    assert len(format_reference("ACFTA", "470ZC1122", 2009, 1)) == 16


@pytest.mark.parametrize(
    ("registration", "year", "serial", "message"),
    [
        ("380000005", 2026, 0, "1 or more"),
        ("38000000", 2026, 1, "9 digits"),
        ("38000000x", 2026, 1, "9 digits"),
        ("380000005", 1999, 1, "2000-2099"),
    ],
)
def test_bad_parts_raise(registration: str, year: int, serial: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        format_reference("ACFTA", registration, year, serial)


def test_unknown_agreement_raises() -> None:
    with pytest.raises(ValueError, match="ATIGA"):
        format_reference("ATIGA", "380000005", 2026, 1)


def test_an_office_can_configure_its_own_format() -> None:
    formats = {"ACFTA": ReferenceFormat(prefix="FE", registration_length=4, serial_digits=6)}
    assert format_reference("ACFTA", "SZX1", 2026, 7, formats=formats) == "FE26SZX1000007"
    with pytest.raises(SerialsExhausted, match="999,999"):
        format_reference("ACFTA", "SZX1", 2026, 1_000_000, formats=formats)


@given(
    reference_format=st.sampled_from([FORM_E, FORM_RCEP]),
    registration=st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=9, max_size=9),
    year=st.integers(2000, 2099),
    serial=st.integers(1, 9999),
)
def test_format_and_parse_round_trip(
    reference_format: ReferenceFormat, registration: str, year: int, serial: int
) -> None:
    text = reference_format.format(registration, year, serial)
    assert len(text) == 16 == reference_format.length
    parsed = reference_format.parse(text)
    assert (parsed.registration, parsed.year, parsed.serial) == (registration, year, serial)


@given(st.integers(1, 9998))
def test_serials_order_like_their_numbers(serial: int) -> None:
    assert FORM_E.format("380000005", 2026, serial) < FORM_E.format("380000005", 2026, serial + 1)


def test_an_allocation_goes_on_to_the_next_serial_for_a_new_holder() -> None:
    first = SerialAllocation().next_for("APP-1", "APP-1", recorded=True)
    assert first == SerialAllocation(1, "APP-1", "APP-1")
    assert first.next_for("APP-2", "APP-2", recorded=True) == SerialAllocation(2, "APP-2", "APP-2")
    assert first.next_for("REQ-9", "APP-1", recorded=True) == SerialAllocation(2, "REQ-9", "APP-1")


def test_a_replayed_holder_gets_its_serial_again() -> None:
    # Recorded, then a crash before the certificate was: the replay must not skip a serial.
    allocated = SerialAllocation(7, "APP-7", "APP-7")
    assert allocated.next_for("APP-7", "APP-7", recorded=False) == allocated


def test_a_serial_whose_certificate_was_never_recorded_goes_to_the_next_holder() -> None:
    # APP-7's replay failed for good (say its authority was withdrawn): 7 is still free.
    allocated = SerialAllocation(7, "APP-7", "APP-7")
    assert allocated.next_for("APP-8", "APP-8", recorded=False) == SerialAllocation(
        7, "APP-8", "APP-8")
    assert SerialAllocation().next_for("APP-1", "APP-1", recorded=False).serial == 1


def test_stored_allocations_are_read_back() -> None:
    allocation = SerialAllocation(12, "REQ-12", "APP-3")
    assert SerialAllocation.from_json(allocation.to_json()) == allocation
    assert SerialAllocation.from_json({}) == SerialAllocation()
    assert SerialAllocation.from_json(5) == SerialAllocation(5)  # a count alone
    with pytest.raises(ValueError, match="not a serial allocation"):
        SerialAllocation.from_json("5")
    with pytest.raises(ValueError, match="holder"):
        SerialAllocation().next_for("", "APP-1", recorded=True)


def test_the_applicants_registration_is_in_the_number() -> None:
    """DOMAIN.md 1.6: E + year + the applicant's 9-digit registration + 4-digit serial."""
    assert format_reference_number("ACFTA", "440316501", 2026, 45) == "E264403165010045"


def test_overflow_is_a_business_error_with_the_figures() -> None:
    """The 10,000th certificate of a registrant's year cannot be numbered: a clear refusal."""
    with pytest.raises(SerialsExhausted) as caught:
        format_reference_number("ACFTA", "380000005", 2026, 10_000)
    assert isinstance(caught.value, BusinessRejection)
    message = str(caught.value)
    assert "380000005" in message and "9,999" in message and "2026" in message


def test_formats_are_a_setting() -> None:
    """Another issuing country's format is a template in ECO_REFERENCE_FORMATS."""
    assert Settings().reference_formats == DEFAULT_FORMATS_SPEC
    formats = parse_reference_formats("ACFTA=VN{yy}{registration:6}{serial:6}")
    assert format_reference_number("ACFTA", "A1B2C3", 2026, 12, formats=formats) == (
        "VN26A1B2C3000012"
    )
    assert formats["RCEP"] == FORM_RCEP  # the others keep their defaults
    settings = Settings.from_env({"ECO_REFERENCE_FORMATS": "RCEP=RC{yy}{registration:9}{serial:5}"})
    assert parse_reference_formats(settings.reference_formats)["RCEP"].serial_digits == 5
    with pytest.raises(ValueError, match="ECO_REFERENCE_FORMATS"):
        Settings.from_env({"ECO_REFERENCE_FORMATS": "ACFTA={serial:4}"})


def test_the_sequence_key_is_the_applicants_registration_per_agreement() -> None:
    """Serials run per applicant registration (and agreement) per year, not per office."""
    document = json.loads((SAMPLES / "02-acfta-kettles-th.json").read_text())
    key = sequence_key(document)
    assert key == f"ACFTA:{document['exporter']['registration_number']}"
    assert sequence_key(parse_application(document)) == key
    assert sequence_year_key(key, 2026) == key + ":2026"
    with pytest.raises(ValueError, match="registration_number"):
        sequence_key({"agreement": "ACFTA", "exporter": {}})


def test_sequence_keys_spread_one_office_over_the_partitions() -> None:
    """One office's applicants land on several partitions (the murmur2 of the key)."""
    keys = [
        sequence_key({"agreement": "ACFTA", "exporter": {"registration_number": f"4403{n:05d}"}})
        for n in range(40)
    ]
    partitioner = DefaultPartitioner()
    partitions = {partitioner(k.encode(), [0, 1, 2, 3], [0, 1, 2, 3]) for k in keys}
    assert partitions == {0, 1, 2, 3}


def test_an_issued_certificate_carries_the_applicants_registration(tmp_path: Path) -> None:
    """Form E Rule 8(c): the office numbers and signs; the number embeds the applicant."""
    factory = CertificateFactory.development(load_offices(), tmp_path / "pki",
                                             tmp_path / "documents")
    factory.formats = parse_reference_formats("")
    document = json.loads((SAMPLES / "02-acfta-kettles-th.json").read_text())
    items = [{"item_no": 1, "criterion": "RVC", "box": "55%", "rvc_percent": "55.00"}]
    issued = factory.issue(document, items, office=factory.office("CN-NGB"), serial=7,
                           version=1, issued_at=datetime(2026, 5, 9, tzinfo=UTC),
                           issued_retroactively=False)
    registration = document["exporter"]["registration_number"]
    assert issued.number == f"E26{registration}0007"
    assert b'code="CN-NGB"' in issued.xml  # the office stays on the certificate
    with pytest.raises(SerialsExhausted):
        factory.issue(document, items, office=factory.office("CN-NGB"), serial=10_000,
                      version=1, issued_at=datetime(2026, 5, 9, tzinfo=UTC),
                      issued_retroactively=False)
