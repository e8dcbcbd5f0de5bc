"""The verification stage's pure decision: declarations register, pre-exportation
determinations (Rule 5(a)), entrepôt routing (RCEP Art. 3.15) and documents requested (Rule 4)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from origin_documents import ON_DATE, build_document, material

from pipeline.application import Agreement, load_application, parse_application
from pipeline.errors import InvalidInput, InvalidRules
from pipeline.origin import RuleBook, Verdict, default_rulebook, examine
from pipeline.origin.evidence import (
    DocumentRequest,
    default_evidence,
    parse_evidence_table,
    supporting_documents,
)
from pipeline.origin.predetermination import (
    PreExportationDetermination,
    bom_digest,
    determine_before_exportation,
)
from pipeline.origin.register import cited_declarations, declaration_data, parse_declaration
from pipeline.origin.routing import entrepot_stops
from pipeline.origin.verification import verify_application

EXPORTER = {
    "id": "EXP-1", "name": "Exporter", "address": "1 Road", "country": "CN",
    "registration_number": "310000101",
}


def relying_document(**top: Any) -> dict[str, Any]:
    """An LED luminaire that qualifies only if the LED module (same heading) is originating."""
    top.setdefault("exporter", EXPORTER)
    return build_document(
        [
            material("940599", "6000.00", "MY", originating=True, supplier_declaration="SD-1"),
            material("850440", "1000.00"),
        ],
        **top,
    )


def declaration(**changes: Any) -> dict[str, Any]:
    entry = {"reference": "SD-1", "supplier": "Penang Photonics", "hs_code": "940599",
             "origin_country": "MY", "agreement": "RCEP", "valid_from": "2026-01-01",
             "valid_until": "2026-12-31"}
    return {**entry, **changes}


def test_a_declaration_round_trips_through_its_event_form() -> None:
    parsed = parse_declaration(declaration())
    assert parse_declaration(declaration_data(parsed)) == parsed
    assert parsed.agreement is Agreement.RCEP and parsed.valid_until == date(2026, 12, 31)


def test_a_declaration_carries_the_suppliers_processing_description() -> None:
    described = parse_declaration(declaration(processing="die bonding and packaging in Penang"))
    assert described.processing == "die bonding and packaging in Penang"
    assert declaration_data(described)["processing"] == "die bonding and packaging in Penang"
    assert parse_declaration(declaration_data(described)) == described
    assert parse_declaration(declaration()).processing == ""  # recorded before the field existed
    with pytest.raises(InvalidInput) as caught:
        parse_declaration(declaration(processing=42))
    assert [p.path for p in caught.value.problems] == ["processing"]


def test_a_bad_declaration_lists_every_problem_by_path() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_declaration(declaration(hs_code="94a", agreement="NAFTA", valid_from=None), "[2]")
    paths = {p.path for p in caught.value.problems}
    assert paths == {"[2].hs_code", "[2].agreement", "[2].valid_from"}


def test_register_gives_only_the_cited_declarations_it_holds() -> None:
    register = {"SD-1": declaration(), "SD-9": declaration(reference="SD-9")}
    found = cited_declarations({"SD-1", "SD-2"}, register)
    assert list(found) == ["SD-1"]


def test_a_held_declaration_with_another_hs_code_fails_the_item(rules: RuleBook) -> None:
    app = parse_application(relying_document())
    held = {"SD-1": parse_declaration(declaration(hs_code="853400"))}
    result = verify_application(app, rules, ON_DATE, declarations=held)
    assert result.examination.verdict is Verdict.NOT_QUALIFIED
    assert any("covers HS 853400" in r for r in result.examination.items[0].reasons)


def test_a_cited_declaration_not_held_is_taken_as_cited(rules: RuleBook) -> None:
    app = parse_application(relying_document())
    result = verify_application(app, rules, ON_DATE, declarations={})
    assert result.examination.verdict is Verdict.QUALIFIED
    assert any("SD-1 is not on record; taken as cited" in r
               for r in result.examination.items[0].reasons)


def _determination(app_doc: dict[str, Any], rules: RuleBook, review_on: date
                   ) -> dict[str, PreExportationDetermination]:
    app = parse_application(app_doc)
    exam = examine(app, rules, date(2026, 3, 2))
    found = determine_before_exportation(app, exam, "PED-7", review_on)
    return {d.product_key: d for d in found}


def test_a_fresh_determination_is_reused_even_without_the_declarations(rules: RuleBook) -> None:
    stored = _determination(relying_document(), rules, date(2026, 9, 1))
    later = relying_document()
    del later["items"][0]["materials"][0]["supplier_declaration"]  # now an unbacked claim
    result = verify_application(parse_application(later), rules, ON_DATE, determinations=stored)
    exam = result.examination
    assert exam.verdict is Verdict.QUALIFIED
    assert exam.items[0].reasons[0].startswith("origin as determined before exportation: PED-7")
    assert exam.missing_supplier_declarations == ()


def test_a_stale_determination_is_flagged_and_not_reused(rules: RuleBook) -> None:
    stored = _determination(relying_document(), rules, date(2026, 4, 30))
    later = relying_document()
    del later["items"][0]["materials"][0]["supplier_declaration"]
    result = verify_application(parse_application(later), rules, ON_DATE, determinations=stored)
    exam = result.examination
    assert exam.verdict is Verdict.INCOMPLETE  # examined afresh: relies on the unbacked claim
    assert "was due for review on 2026-04-30" in exam.items[0].reasons[0]
    assert any("PED-7" in note for note in exam.notes)


def test_another_bill_of_materials_is_another_product(rules: RuleBook) -> None:
    stored = _determination(relying_document(), rules, date(2026, 9, 1))
    other = relying_document()
    other["items"][0]["materials"][1]["hs_code"] = "853400"
    result = verify_application(parse_application(other), rules, ON_DATE, determinations=stored)
    assert not result.examination.items[0].reasons[0].startswith("origin as determined")


@given(st.permutations(range(3)), st.lists(st.decimals(0, 10**6, places=2), min_size=3,
                                           max_size=3))
def test_bom_digest_ignores_order_and_values(order: list[int], values: list[Any]) -> None:
    materials = [material("940599", "1", "MY", originating=True), material("850440", "2"),
                 material("853400", "3", "VN", originating=True)]
    shuffled = [{**materials[i], "value": str(v)} for i, v in zip(order, values, strict=True)]
    first = parse_application(build_document(materials)).items[0]
    second = parse_application(build_document(shuffled)).items[0]
    assert bom_digest(first) == bom_digest(second)


def test_a_determination_needs_an_identified_exporter_and_a_later_review(
        rules: RuleBook) -> None:
    doc = relying_document(
        exporter={"address": "1 Road", "country": "CN", "registration_number": "310000101"}
    )
    app = parse_application(doc)
    with pytest.raises(InvalidInput) as caught:
        determine_before_exportation(app, examine(app, rules, ON_DATE), "PED", ON_DATE)
    assert {p.path for p in caught.value.problems} == {"exporter.id", "review_on"}


def test_the_determination_round_trips_through_json(rules: RuleBook) -> None:
    (det,) = _determination(relying_document(), rules, date(2026, 9, 1)).values()
    assert PreExportationDetermination.from_json(det.to_json()) == det


def test_an_entrepot_stop_without_document_is_flagged(rules: RuleBook) -> None:
    doc = build_document([], transport={"departure_date": "2026-05-18",
                                        "transit": [{"port": "HKHKG", "country": "HK"},
                                                    {"port": "SGSIN", "country": "SG"}]})
    app = parse_application(doc)
    assert [s.country for s in entrepot_stops(app)] == ["HK"]  # SG is a Party to RCEP
    exam = verify_application(app, rules, ON_DATE).examination
    assert exam.verdict is Verdict.INCOMPLETE
    flagged = {p.path: p.message for p in exam.errors}
    assert "entrepôt trade through HK (HKHKG)" in flagged[
        "transport.transit[0].non_manipulation_document"]
    assert "entrepôt" not in flagged["transport.transit[1].non_manipulation_document"]


def test_an_entrepot_stop_with_its_document_is_a_note(rules: RuleBook) -> None:
    doc = build_document([], transport={"departure_date": "2026-05-18", "transit": [
        {"port": "HKHKG", "country": "HK", "non_manipulation_document": "NM-1"}]})
    exam = verify_application(parse_application(doc), rules, ON_DATE).examination
    assert exam.verdict is Verdict.QUALIFIED
    assert any("non-manipulation document NM-1" in n for n in exam.notes)


BUILD_UP = {"rvc_method": "build-up", "costs": {"direct_labour": "5000"}}  # RVC 50


def _build_up_document(**top: Any) -> dict[str, Any]:
    return build_document([material("940599", "7000.00")], item=BUILD_UP, **top)


def test_a_build_up_rvc_asks_for_the_cost_statement(rules: RuleBook) -> None:
    app = parse_application(_build_up_document())
    result = verify_application(app, rules, ON_DATE, evidence=default_evidence())
    assert result.examination.verdict is Verdict.QUALIFIED
    assert result.documents_requested
    (request,) = result.requested
    assert (request.kind, request.item_no) == ("COST_STATEMENT", 1)


def test_supplied_or_listed_documents_are_not_asked_again(rules: RuleBook) -> None:
    app = parse_application(_build_up_document())
    supplied = verify_application(app, rules, ON_DATE, evidence=default_evidence(),
                                  supplied=frozenset({"COST_STATEMENT"}))
    assert not supplied.documents_requested
    listed = parse_application(_build_up_document(
        supporting_documents=[{"kind": "cost_statement", "reference": "CS-1"}]))
    assert supporting_documents(listed) == {"COST_STATEMENT"}
    assert not verify_application(listed, rules, ON_DATE, evidence=default_evidence()).requested


def test_no_documents_are_asked_for_an_application_that_fails(rules: RuleBook) -> None:
    low = {**BUILD_UP, "costs": {"direct_labour": "1000"}}  # RVC 10 < 40
    doc = build_document([material("940599", "9000.00")], item=low)
    result = verify_application(parse_application(doc), rules, ON_DATE,
                                evidence=default_evidence())
    assert result.examination.verdict is Verdict.NOT_QUALIFIED
    assert result.requested == ()


def test_evidence_rows_match_agreement_hs_and_criterion() -> None:
    table = parse_evidence_table(
        "agreement,hs,criterion,document,reason\n"
        "# a comment\n"
        "RCEP,03,WO,VESSEL_REGISTRATION,flag of the vessel\n"
        "*,94.05,*,test_report,photometric test\n"
        "ACFTA,*,rvc/Build-Up,COST_STATEMENT,costs\n", "t.csv")
    assert [r.document for r in table] == ["VESSEL_REGISTRATION", "TEST_REPORT", "COST_STATEMENT"]
    assert table[2].criterion == "RVC/build-up"
    assert table[1].hs == "9405" and table[1].agreement is None and table[1].criterion is None
    assert str(DocumentRequest("TEST_REPORT", 2, "why")) == "TEST_REPORT for item 2: why"


@pytest.mark.parametrize("row, message", [
    ("XX,94,*,D,r", "unknown agreement"),
    ("RCEP,9,*,D,r", "not a chapter"),
    ("RCEP,94,*,,r", "expected"),
])
def test_a_bad_evidence_row_names_its_line(row: str, message: str) -> None:
    with pytest.raises(InvalidRules, match=f"t.csv:2: .*{message}"):
        parse_evidence_table(f"agreement,hs,criterion,document,reason\n{row}\n", "t.csv")


SAMPLES = Path(__file__).resolve().parents[3] / "samples"


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_the_shipped_evidence_table_asks_nothing_of_the_samples(sample: str) -> None:
    app = load_application(SAMPLES / sample)
    result = verify_application(app, default_rulebook(), ON_DATE, evidence=default_evidence())
    assert result.requested == ()
    assert result.examination.verdict is examine(app, default_rulebook(), ON_DATE).verdict
