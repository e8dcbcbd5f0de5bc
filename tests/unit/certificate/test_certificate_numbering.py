"""Reference numbers: the China Form E pattern, the RCEP analogue, overflow; serial allocation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.certificate.numbering import (
    FORM_E,
    FORM_RCEP,
    ReferenceFormat,
    SerialAllocation,
    format_reference,
)


def test_form_e_matches_the_published_example() -> None:
    assert format_reference("ACFTA", "380000005", 2019, 45) == "E193800000050045"


def test_rcep_uses_the_r_prefix() -> None:
    assert format_reference("RCEP", "380000005", 2026, 1) == "R263800000050001"


def test_alphanumeric_registrations_are_allowed() -> None:
    assert len(format_reference("ACFTA", "470ZC1122", 2009, 1)) == 16


@pytest.mark.parametrize(
    ("registration", "year", "serial", "message"),
    [
        ("380000005", 2026, 10000, "overflows"),
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
    with pytest.raises(ValueError, match="overflows"):
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
