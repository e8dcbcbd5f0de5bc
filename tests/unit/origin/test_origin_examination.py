"""The examination around the determination, and the seven sample applications."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipeline.application import Agreement, load_application
from pipeline.origin import (
    RuleBook,
    SupplierDeclaration,
    TermKind,
    Verdict,
    default_rulebook,
    examine,
)

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
ON_DATE = date(2026, 5, 20)
EXPECTED = {
    "01-rcep-led-luminaires-vn.json": ("QUALIFIED", "CTH", "81.25", []),
    "02-acfta-kettles-th.json": ("QUALIFIED", "RVC", "55.00", []),
    "03-rcep-tshirts-my.json": ("QUALIFIED", "CC", None, []),
    "04-acfta-frozen-fish-vn.json": ("QUALIFIED", "WO", None, []),
    "05-rcep-brake-pads-id.json": ("QUALIFIED", "CTH", "96.25", []),
    "06-rcep-lamp-kits-not-qualified.json": ("NOT_QUALIFIED", None, "16.67", []),
    "07-acfta-incomplete.json": ("INCOMPLETE", None, None, ["items[0].materials[0].value"]),
}


BOOKS = {"shipped": default_rulebook(), "psr-demo": RuleBook.load([SAMPLES / "psr-demo.csv"])}


@pytest.mark.parametrize("book", list(BOOKS.values()), ids=list(BOOKS))
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_samples_give_the_documented_outcomes(name: str, book: RuleBook) -> None:
    verdict, criterion, rvc, error_paths = EXPECTED[name]
    result = examine(load_application(SAMPLES / name), book, ON_DATE).to_json()
    assert result["verdict"] == verdict
    assert result["items"][0]["criterion"] == criterion
    assert result["items"][0]["rvc_percent"] == rvc
    assert [e["path"] for e in result["errors"]] == error_paths


def test_issue_within_three_days_is_not_retroactive(build, check):
    exam = check(build(), on_date=date(2026, 5, 21))
    assert not exam.issued_retroactively
    assert exam.verdict is Verdict.QUALIFIED


def test_issue_after_three_days_is_retroactive_with_a_note(build, check):
    exam = check(build(), on_date=date(2026, 5, 22))
    assert exam.issued_retroactively
    assert exam.verdict is Verdict.QUALIFIED
    assert any("issued retroactively" in r for r in exam.items[0].reasons)
    assert not exam.errors


def test_issue_more_than_a_year_after_departure_is_refused(build, check):
    exam = check(build(), on_date=date(2027, 5, 19))
    assert exam.verdict is Verdict.NOT_QUALIFIED
    assert "more than a year" in exam.refusals[0]
    assert check(build(), on_date=date(2027, 5, 18)).verdict is Verdict.QUALIFIED


def test_missing_boxes_make_it_incomplete(build, check):
    doc = build(declaration={"place": "Shanghai", "date": "2026-05-17"}, invoices=[])
    doc["items"][0].pop("marks")
    exam = check(doc)
    assert exam.verdict is Verdict.INCOMPLETE
    paths = {e.path for e in exam.errors}
    assert {"declaration.signatory", "invoices", "items[0].marks"} <= paths


def test_invoice_after_departure_needs_third_party_invoicing(build, check):
    late = [{"number": "INV-9", "date": "2026-05-19"}]
    exam = check(build(invoices=late))
    assert [e.path for e in exam.errors] == ["invoices[0].date"]
    third_party = {"name": "HK Trading Ltd", "country": "HK"}
    assert check(build(invoices=late, third_party_invoicing=third_party)).verdict is (
        Verdict.QUALIFIED
    )


def test_declaration_after_the_issue_date_is_inconsistent(build, check):
    doc = build(declaration={"place": "X", "date": "2026-05-25", "signatory": "S"})
    assert [e.path for e in check(doc).errors] == ["declaration.date"]


def test_back_to_back_needs_the_original_and_cannot_outlive_it(build, check):
    partial = build(back_to_back={"original_certificate": "E26000", "original_country": "VN"})
    assert "back_to_back.original_issue_date" in [e.path for e in check(partial).errors]
    expired = build(
        back_to_back={
            "original_certificate": "E26000",
            "original_issue_date": "2025-05-01",
            "original_country": "TH",
        }
    )
    exam = check(expired)
    assert exam.verdict is Verdict.NOT_QUALIFIED
    assert "RCEP Art. 3.19" in exam.refusals[0]


def test_transit_needs_a_non_manipulation_document(build, check):
    doc = build(transport={"departure_date": "2026-05-18", "transit": [{"port": "HKHKG"}]})
    paths = [e.path for e in check(doc).errors]
    assert paths == ["transport.transit[0].non_manipulation_document"]


def test_unbacked_claim_relied_on_is_incomplete_and_listed(build, check, mat):
    doc = build(
        materials=[mat("940599", "9000", "CN", originating=True, supplier_declaration=None)]
    )
    doc["items"][0]["materials"][0].pop("supplier_declaration")
    exam = check(doc)
    assert exam.verdict is Verdict.INCOMPLETE
    assert exam.missing_supplier_declarations == ("items[0].materials[0].supplier_declaration",)
    assert exam.errors[0].path == "items[0].materials[0].supplier_declaration"


def test_unbacked_claim_not_relied_on_still_listed(build, check, mat):
    doc = build(materials=[mat("850440", "1000", "CN", originating=True)])
    doc["items"][0]["materials"][0].pop("supplier_declaration")
    exam = check(doc)
    assert exam.verdict is Verdict.QUALIFIED
    assert exam.items[0].criterion is TermKind.CTH
    assert exam.missing_supplier_declarations == ("items[0].materials[0].supplier_declaration",)


def _declaration(**changes: object) -> SupplierDeclaration:
    fields: dict[str, object] = {
        "reference": "SD-1",
        "supplier": "Supplier Co.",
        "hs_code": "940599",
        "origin_country": "CN",
        "agreement": Agreement.RCEP,
        "valid_from": date(2026, 1, 1),
        "valid_until": date(2026, 12, 31),
    }
    fields.update(changes)
    return SupplierDeclaration(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"hs_code": "850440"}, "covers HS 850440"),
        ({"origin_country": "VN"}, "declares origin VN"),
        ({"agreement": Agreement.ACFTA}, "is for ACFTA"),
        ({"valid_until": date(2026, 5, 1)}, "not on 2026-05-20"),
    ],
)
def test_supplier_declaration_mismatch_is_a_reason(build, check, mat, changes, words):
    doc = build(
        materials=[mat("940599", "9000", "CN", originating=True, supplier_declaration="SD-1")]
    )
    exam = check(doc, declarations={"SD-1": _declaration(**changes)})
    assert exam.verdict is Verdict.NOT_QUALIFIED
    assert any(words in r for r in exam.items[0].reasons)


def test_matching_and_unrecorded_supplier_declarations(build, check, mat):
    doc = build(
        materials=[mat("940599", "9000", "CN", originating=True, supplier_declaration="SD-1")]
    )
    assert check(doc, declarations={"SD-1": _declaration()}).items[0].criterion is TermKind.PE
    exam = check(doc, declarations={})
    assert exam.items[0].criterion is TermKind.PE
    assert any("not on record; taken as cited" in r for r in exam.items[0].reasons)


def test_every_item_qualifies_in_its_own_right(build, check, mat):
    doc = build(materials=[mat("850440", "1000", "TW")])
    second = dict(doc["items"][0], item_no=2, materials=[mat("940599", "9000", "TW")])
    doc["items"].append(second)
    exam = check(doc)
    assert [i.qualified for i in exam.items] == [True, False]
    assert exam.verdict is Verdict.NOT_QUALIFIED


def test_json_shape(build, check, mat):
    result = check(build(materials=[mat("940599", "2000", "TW")])).to_json()
    assert set(result) >= {"application_id", "agreement", "verdict", "items", "errors"}
    assert set(result["items"][0]) >= {
        "item_no",
        "hs_code",
        "qualified",
        "criterion",
        "de_minimis",
        "accumulation",
        "rvc_percent",
        "rvc_method",
        "rule",
        "box",
        "reasons",
    }
    assert result["items"][0]["rvc_percent"] == "80.00"
    assert result["items"][0]["rvc_method"] == "build-down"
