"""Structural validation of application documents: every problem, with its JSON path."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.application import (
    Agreement,
    RvcMethod,
    decode_application,
    load_application,
    parse_application,
)
from pipeline.errors import InvalidApplication

DOC: dict[str, Any] = {
    "agreement": "ACFTA",
    "exporter": {"name": "E", "address": "A", "country": "CN", "registration_number": "440300123"},
    "importer": {"name": "I", "address": "B", "country": "MY"},
    "transport": {"departure_date": "2026-05-16", "transit": [{"port": "SGSIN", "country": "SG"}]},
    "invoices": [{"number": "CB-1", "date": "2026-05-14"}],
    "items": [
        {
            "item_no": 1,
            "hs_code": "841451",
            "fob": {"amount": "15000.00", "currency": "USD"},
            "gross_weight_kg": 1900.5,
            "rvc_method": "build-up",
            "costs": {"direct_labour": "100", "profit": "50"},
            "materials": [
                {"hs_code": "8414", "origin_country": "unknown", "originating": False},
                {"hs_code": "390210", "origin_country": "cn", "value": "2000.00"},
            ],
        }
    ],
    "declaration": {"place": "Guangzhou", "date": "2026-05-06", "signatory": "W"},
}


def doc(**changes: Any) -> dict[str, Any]:
    result = copy.deepcopy(DOC)
    result.update(changes)
    return result


def problems(document: Any) -> dict[str, str]:
    with pytest.raises(InvalidApplication) as caught:
        parse_application(document, "app.json")
    assert caught.value.source == "app.json"
    return {p.path: p.message for p in caught.value.problems}


def test_parses_the_document_into_values():
    app = parse_application(DOC)
    assert app.agreement is Agreement.ACFTA
    assert app.application_id is None
    assert app.transport is not None and app.transport.departure_date == date(2026, 5, 16)
    item = app.items[0]
    assert item.gross_weight_kg == Decimal("1900.5")
    assert item.rvc_method is RvcMethod.BUILD_UP
    assert item.costs is not None and item.costs.total == Decimal(150)
    assert item.materials is not None
    assert item.materials[0].origin_country is None  # "unknown"
    assert item.materials[0].value is None  # missing business data is not a parse error
    assert item.materials[1].origin_country == "CN"
    assert app.document["agreement"] == "ACFTA"
    assert app.currency == "USD"


def test_not_an_object():
    assert problems([1, 2]) == {"": "an application must be a JSON object, not an array"}


def test_collects_every_problem_with_its_path():
    bad = doc(agreement="NAFTA", invoices=[{"date": "2026-13-01"}])
    bad["items"][0]["hs_code"] = "84145"
    bad["items"][0]["fob"] = {"amount": "-1", "currency": "USD"}
    bad["items"][0]["materials"][1]["value"] = "12,50"
    bad["items"][0]["materials"][0]["hs_code"] = "7701"
    found = problems(bad)
    assert set(found) == {
        "agreement",
        "invoices[0].date",
        "items[0].hs_code",
        "items[0].fob.amount",
        "items[0].materials[1].value",
        "items[0].materials[0].hs_code",
    }
    assert "unknown agreement" in found["agreement"]
    assert "negative" in found["items[0].fob.amount"]


@pytest.mark.parametrize(
    ("path", "change", "words"),
    [
        ("items[0].hs_code", lambda d: d["items"][0].update(hs_code="7700"), "6 digits"),
        ("items[0].hs_code", lambda d: d["items"][0].update(hs_code="980000"), "known HS chapter"),
        (
            "items[0].fob.amount",
            lambda d: d["items"][0]["fob"].update(amount="0"),
            "more than zero",
        ),
        ("items[0].fob.amount", lambda d: d["items"][0]["fob"].update(amount="x"), "not a number"),
        (
            "items[0].wholly_obtained",
            lambda d: d["items"][0].update(wholly_obtained="yes"),
            "true or false",
        ),
        (
            "items[0].rvc_method",
            lambda d: d["items"][0].update(rvc_method="sideways"),
            "build-down",
        ),
        ("items[0].item_no", lambda d: d["items"][0].pop("item_no"), "required"),
        ("importer.country", lambda d: d["importer"].update(country="US"), "not a Party"),
        ("importer.country", lambda d: d["importer"].update(country="CN"), "exporting country"),
        ("exporter.country", lambda d: d["exporter"].pop("country"), "required"),
        ("items", lambda d: d.update(items=[]), "at least one"),
        (
            "transport.transit[0].country",
            lambda d: d["transport"]["transit"][0].update(country="S"),
            "two-letter",
        ),
    ],
)
def test_structural_problems(path, change, words):
    bad = doc()
    change(bad)
    found = problems(bad)
    assert path in found
    assert words in found[path]


def test_mixed_currencies():
    bad = doc()
    second = copy.deepcopy(bad["items"][0])
    second.update(item_no=2, fob={"amount": "10", "currency": "EUR"})
    bad["items"].append(second)
    assert "items[1].fob.currency" in problems(bad)


def test_duplicate_item_numbers():
    bad = doc()
    bad["items"].append(copy.deepcopy(bad["items"][0]))
    assert "items[1].item_no" in problems(bad)


@given(st.text(max_size=8))
def test_decimal_text_is_accepted_only_when_a_non_negative_number(text):
    candidate = doc()
    candidate["items"][0]["gross_weight_kg"] = text
    try:
        app = parse_application(candidate)
    except InvalidApplication as exc:
        assert [p.path for p in exc.problems] == ["items[0].gross_weight_kg"]
    else:
        weight = app.items[0].gross_weight_kg
        assert weight is None or (weight.is_finite() and weight >= 0)


def test_load_application_reports_line_and_column(tmp_path: Path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "agreement": "RCEP",\n  "items": [,]\n}\n')
    with pytest.raises(InvalidApplication) as caught:
        load_application(path)
    assert caught.value.source == "broken.json"
    assert "line 3, column" in str(caught.value)


def test_load_application_reads_a_file(tmp_path: Path):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(DOC))
    assert load_application(path).source == "ok.json"


def test_xml_is_read_through_the_schema_and_its_errors_name_the_element():
    with pytest.raises(InvalidApplication) as caught:
        decode_application(b'<application xmlns="urn:eco-pipeline:application:1"/>', "a.xml",
                           "application/xml")
    assert "agreement" in str(caught.value)
