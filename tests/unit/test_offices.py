"""Issuing offices (Form E Rule 2 and 8(c)): the built-in table and a deployment's own file."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from pipeline.errors import InvalidInput
from pipeline.offices import BUILT_IN, Office, load_offices

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
NINGBO = {"code": "CN-NGB", "name": "Ningbo Customs District, Origin Office",
          "address": "9 Mayuan Road, Ningbo", "country": "CN", "registration": "330200001"}


def write(tmp_path: Path, rows: object) -> Path:
    path = tmp_path / "offices.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def test_built_in_offices_by_code() -> None:
    offices = load_offices()
    assert set(offices) == {office.code for office in BUILT_IN}
    assert offices["CN-SZX"].registration == "440300001"


def test_built_in_codes_are_unique_and_registrations_are_nine_digits() -> None:
    assert len({office.code for office in BUILT_IN}) == len(BUILT_IN)
    for office in BUILT_IN:
        assert len(office.registration) == 9 and office.registration.isascii()
        assert office.registration.isdigit()


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_built_in_offices_cover_the_issuing_office_of_every_sample(path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    office = load_offices()[document["issuing_office"]]
    assert office.country == document["exporter"]["country"]


def test_load_offices_reads_a_json_file(tmp_path: Path) -> None:
    other = {**NINGBO, "code": "CN-DLC", "registration": 210200001}
    offices = load_offices(write(tmp_path, [NINGBO, other]))
    assert offices["CN-NGB"] == Office(**NINGBO)
    assert offices["CN-DLC"].registration == "210200001"
    assert set(offices) == {"CN-NGB", "CN-DLC"}


def test_a_file_replaces_the_built_in_table(tmp_path: Path) -> None:
    offices = load_offices(write(tmp_path, [asdict(BUILT_IN[0])]))
    assert list(offices) == [BUILT_IN[0].code]


@pytest.mark.parametrize("registration", ["33020000", "3302000011", "33020000X", ""])
def test_a_bad_registration_number_is_refused_with_its_path(tmp_path: Path,
                                                            registration: str) -> None:
    path = write(tmp_path, [NINGBO, {**NINGBO, "code": "CN-X", "registration": registration}])
    with pytest.raises(InvalidInput) as raised:
        load_offices(path)
    assert raised.value.source == str(path)
    assert [(p.path, p.message) for p in raised.value.problems] == [
        ("[1].registration", "must be 9 digits")
    ]


def test_a_missing_file_is_refused_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    with pytest.raises(InvalidInput, match="cannot read issuing offices") as raised:
        load_offices(missing)
    assert raised.value.source == str(missing)


@pytest.mark.parametrize(
    "text",
    ["[{", "null", json.dumps([{"code": "CN-NGB"}]), json.dumps([{**NINGBO, "fax": "1"}])],
    ids=["malformed", "null", "missing-field", "unknown-field"],
)
def test_an_unreadable_file_is_refused_with_its_path(tmp_path: Path, text: str) -> None:
    path = tmp_path / "offices.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match="cannot read issuing offices") as raised:
        load_offices(path)
    assert raised.value.source == str(path)


@pytest.mark.parametrize("rows", [NINGBO, [1, 2]], ids=["object", "list-of-numbers"])
def test_a_file_that_is_not_a_list_of_objects_is_refused(tmp_path: Path, rows: object) -> None:
    path = write(tmp_path, rows)
    with pytest.raises(InvalidInput) as raised:
        load_offices(path)
    assert raised.value.source == str(path)


def test_a_registration_of_non_ascii_digits_is_refused(tmp_path: Path) -> None:
    full_width = "".join(chr(0xFF10 + int(digit)) for digit in "330200001")
    path = write(tmp_path, [{**NINGBO, "registration": full_width}])
    with pytest.raises(InvalidInput):
        load_offices(path)
