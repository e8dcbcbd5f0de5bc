"""Events of the verification stage's inputs and outputs: supplier declarations,
pre-exportation determinations, documents requested and supplied, and their status."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline import events
from pipeline.application import Agreement
from pipeline.cli import main
from pipeline.cli.declare import declaration_event, read_declarations
from pipeline.cli.determine import determination_event
from pipeline.cli.documents import documents_event, supplied_document
from pipeline.errors import InvalidInput
from pipeline.journey import observe
from pipeline.origin.predetermination import PreExportationDetermination
from pipeline.origin.rules import TermKind
from pipeline.states import State, advance

DECLARATION = {"reference": "SD-1", "supplier": "Penang Photonics", "hs_code": "854141",
               "origin_country": "MY", "agreement": "RCEP", "valid_from": "2026-01-01",
               "valid_until": "2026-12-31"}
AT = datetime(2026, 5, 20, 8, 0, tzinfo=UTC)


def _round_trip(envelope: events.Envelope) -> events.Envelope:
    key, value, headers = events.to_record(envelope)
    return events.from_record(key, value, headers)


def test_declarations_file_may_hold_one_or_many(tmp_path: Path) -> None:
    one, many = tmp_path / "one.json", tmp_path / "many.json"
    one.write_text(json.dumps(DECLARATION))
    many.write_text(json.dumps([DECLARATION, {**DECLARATION, "reference": "SD-2"}]))
    assert [d.reference for d in read_declarations(one)] == ["SD-1"]
    assert [d.reference for d in read_declarations(many)] == ["SD-1", "SD-2"]


def test_a_declaration_event_is_keyed_by_reference_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(DECLARATION))
    (declaration,) = read_declarations(path)
    first, again = declaration_event(declaration), declaration_event(declaration)
    assert first.id == again.id
    decoded = _round_trip(first)
    assert decoded.subject == "SD-1" and decoded.data["valid_until"] == "2026-12-31"


def test_eco_declare_refuses_a_bad_file_with_its_path(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([DECLARATION, {**DECLARATION, "origin_country": "US"}]))
    assert main(["declare", str(path)]) == 2
    assert f"{path}: [1].origin_country: US is not a Party to RCEP" in capsys.readouterr().err


def test_a_determination_event_round_trips() -> None:
    det = PreExportationDetermination(
        reference="PED-1", agreement=Agreement.RCEP, exporter="EXP-1", hs_code="940542",
        bom_digest="0123456789abcdef", criterion=TermKind.RVC, determined_on=date(2026, 3, 2),
        review_on=date(2026, 9, 1), rvc_percent=Decimal("62.50"))
    decoded = _round_trip(determination_event(det))
    assert decoded.subject == det.product_key == "RCEP/EXP-1/940542/0123456789abcdef"
    assert PreExportationDetermination.from_json(decoded.data) == det


def test_supplied_documents_carry_their_digest(tmp_path: Path) -> None:
    path = tmp_path / "cost.pdf"
    path.write_bytes(b"%PDF-1.7 cost statement")
    document = supplied_document(f"cost_statement={path}")
    assert document["kind"] == "COST_STATEMENT" and document["size_bytes"] == 23
    envelope = documents_event("APP-1", [document])
    assert envelope.id == documents_event("APP-1", [document]).id
    assert _round_trip(envelope).data["documents"][0]["reference"] == "cost.pdf"


@pytest.mark.parametrize("argument", ["cost.pdf", "=x", "1KIND=x"])
def test_a_document_argument_must_be_kind_equals_file(argument: str) -> None:
    with pytest.raises(InvalidInput, match="KIND=FILE"):
        supplied_document(argument)


def test_a_missing_document_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        supplied_document(f"COST_STATEMENT={tmp_path / 'nope.pdf'}")


def test_documents_requested_then_supplied_then_verified() -> None:
    submitted = observe("e1", "eco.application.submitted.v1", AT,
                        {"agreement": "RCEP", "submitted_via": "CLI"})
    status = advance(None, "APP-1", submitted)
    requested = observe("e2", "eco.verification.documents-requested.v1", AT, {
        "documents": [{"kind": "COST_STATEMENT", "item_no": 1, "reason": "build-up RVC"}]})
    status = advance(status, "APP-1", requested)
    assert status.state is State.DOCUMENTS_REQUESTED
    assert status.reasons == ("document requested: COST_STATEMENT for item 1: build-up RVC",)
    supplied = observe("e3", "eco.application.documents-supplied.v1", AT, {
        "documents": [{"kind": "COST_STATEMENT", "reference": "cost.pdf"}]})
    status = advance(status, "APP-1", supplied)
    assert status.state is State.DOCUMENTS_REQUESTED  # history only until the outcome
    assert status.history[-1].detail == "documents supplied: COST_STATEMENT (cost.pdf)"
    verified = observe("e4", "eco.verification.completed.v1", AT,
                       {"verdict": "QUALIFIED", "items": []})
    assert advance(status, "APP-1", verified).state is State.VERIFIED


def test_documents_supplied_do_not_reopen_a_settled_application() -> None:
    status = advance(None, "APP-1", observe("e1", "eco.verification.completed.v1", AT,
                                            {"verdict": "INCOMPLETE", "items": []}))
    supplied = observe("e2", "eco.application.documents-supplied.v1", AT, {"documents": []})
    assert advance(status, "APP-1", supplied).state is State.INCOMPLETE
