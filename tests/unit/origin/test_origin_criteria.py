"""Each origin criterion, de minimis, accumulation and the and/or rules, through ``examine``."""

from __future__ import annotations

from decimal import Decimal

from pipeline.origin import TermKind, Verdict


def item(exam):
    return exam.items[0]


def test_wholly_obtained_is_reported_first(build, check):
    doc = build(item={"hs_code": "030389", "wholly_obtained": True, "processes": ["catching"]})
    result = item(check(doc))
    assert result.criterion is TermKind.WO
    assert result.box == "WO"
    assert result.qualified


def test_wholly_obtained_claim_with_foreign_material_fails(build, check, mat):
    doc = build(
        materials=[mat("030389", "100", "NO")],
        item={"hs_code": "030389", "wholly_obtained": True},
    )
    result = item(check(doc))
    assert result.verdict is Verdict.NOT_QUALIFIED
    assert any(r.startswith("WO not met") for r in result.reasons)


def test_produced_entirely_from_originating_materials(build, check, mat):
    doc = build(materials=[mat("940599", "3000", "CN", originating=True)])
    result = item(check(doc))
    assert result.criterion is TermKind.PE
    assert result.box == "PE"
    assert not result.accumulation


def test_pe_relying_on_another_party_flags_accumulation(build, check, mat):
    doc = build(materials=[mat("940599", "3000", "MY", originating=True)])
    result = item(check(doc))
    assert (result.criterion, result.box, result.accumulation) == (TermKind.PE, "PE, ACU", True)


def test_cth_met_when_every_non_originating_material_changes_heading(build, check, mat):
    doc = build(materials=[mat("850440", "3000"), mat("8534", "500", "TW")])
    result = item(check(doc))
    assert result.criterion is TermKind.CTH
    assert result.box == "CTC"
    assert not result.fob_shown


def test_cth_fails_and_rvc_reported_with_fob(build, check, mat):
    doc = build(materials=[mat("940599", "2000", "TW")])
    result = item(check(doc))
    assert result.criterion is TermKind.RVC
    assert result.rvc_percent == Decimal(80)
    assert result.fob_shown
    assert result.box == "RVC"


def test_de_minimis_by_value_at_ten_percent(build, check, mat):
    doc = build(materials=[mat("940599", "1000.00", "TW"), mat("850440", "8000")])
    result = item(check(doc))
    assert result.criterion is TermKind.CTH
    assert result.de_minimis
    assert result.box == "CTC, DMI"


def test_de_minimis_by_value_just_above_ten_percent_fails_cth(build, check, mat):
    doc = build(materials=[mat("940599", "1000.01", "TW"), mat("850440", "8000")])
    result = item(check(doc))
    assert result.verdict is Verdict.NOT_QUALIFIED  # RVC is 9.99 % as well
    assert any("above the 10 % de minimis" in r for r in result.reasons)


def test_de_minimis_by_weight_for_textiles(build, check, mat):
    # Same chapter 61 (fails CC), 20 % of FOB but 5 % of the weight: RCEP Art. 3.7(b).
    doc = build(
        materials=[
            mat("6117", "2000", "IN", weight_kg="5"),
            mat("520421", "100", "IN", weight_kg="50"),
        ],
        item={"hs_code": "610910", "gross_weight_kg": "100", "processes": ["sewing"]},
    )
    result = item(check(doc))
    assert (result.criterion, result.de_minimis, result.box) == (TermKind.CC, True, "CTC, DMI")


def test_weight_de_minimis_only_for_chapters_50_to_63(build, check, mat):
    doc = build(materials=[mat("940599", "2000", "TW", weight_kg="1"), mat("850440", "7500")])
    result = item(check(doc))
    assert result.criterion is not TermKind.CTH
    assert result.verdict is Verdict.NOT_QUALIFIED


def test_weight_de_minimis_needs_the_goods_weight(build, check, mat):
    doc = build(
        materials=[mat("6117", "2000", "IN", weight_kg="5")],
        item={"hs_code": "610910", "gross_weight_kg": None, "quantity": {"value": "1"}},
    )
    exam = check(doc)
    assert exam.verdict is Verdict.INCOMPLETE
    assert [e.path for e in exam.errors] == ["items[0].gross_weight_kg"]


def test_cc_needs_a_change_of_chapter(build, check, mat):
    doc = build(materials=[mat("611790", "5000", "TW", weight_kg="50")], item={"hs_code": "610910"})
    result = item(check(doc))
    assert result.verdict is Verdict.NOT_QUALIFIED
    assert any(r.startswith("CC not met") for r in result.reasons)


def test_ctsh_with_a_four_digit_material_of_the_same_heading_is_incomplete(build, check, mat):
    doc = build(materials=[mat("8539", "7000", "TW")], item={"hs_code": "853950"})
    exam = check(doc)
    assert exam.verdict is Verdict.INCOMPLETE
    assert "items[0].materials[0].hs_code" in [e.path for e in exam.errors]


def test_ctsh_met_by_another_subheading(build, check, mat):
    doc = build(materials=[mat("853990", "5000", "TW")], item={"hs_code": "853950"})
    assert item(check(doc)).criterion is TermKind.CTSH


def test_conjunction_needs_every_term(build, check, mat):
    # RCEP,2009,CTSH and RVC40 in the test table.
    shift_only = build(materials=[mat("200989", "7000", "TW")], item={"hs_code": "200911"})
    both = build(materials=[mat("200989", "5000", "TW")], item={"hs_code": "200911"})
    assert item(check(shift_only)).verdict is Verdict.NOT_QUALIFIED
    result = item(check(both))
    assert (result.criterion, result.box, result.fob_shown) == (TermKind.RVC, "CTC, RVC", True)


def test_minimal_operations_deny_a_tariff_shift(build, check, mat):
    doc = build(
        materials=[mat("850440", "8000", "TW")], item={"processes": ["packing", "Labelling"]}
    )
    result = item(check(doc))
    assert result.verdict is Verdict.NOT_QUALIFIED
    assert any("minimal operation" in r for r in result.reasons)


def test_minimal_operations_deny_rvc_too(build, check, mat):
    """RCEP Art. 3.6 applies notwithstanding every criterion, the RVC included."""
    doc = build(materials=[mat("850440", "1000", "TW")], item={"processes": ["packing"]})
    result = item(check(doc))
    assert result.verdict is Verdict.NOT_QUALIFIED
    assert any("RVC40 not met: minimal operations only (RCEP Art. 3.6)" in r
               for r in result.reasons)


def test_build_up_rvc(build, check, mat):
    doc = build(
        materials=[mat("940599", "2000", "CN", originating=True), mat("940599", "5000", "TW")],
        item={
            "rvc_method": "build-up",
            "costs": {"direct_labour": "1000", "direct_overhead": "500", "profit": "500"},
        },
    )
    result = item(check(doc))
    assert result.rvc_percent == Decimal(40)
    assert result.criterion is TermKind.RVC
    assert result.rvc_method is not None and result.rvc_method.value == "build-up"


def test_build_up_needs_costs(build, check, mat):
    doc = build(materials=[mat("940599", "5000", "TW")], item={"rvc_method": "build-up"})
    exam = check(doc)
    assert exam.verdict is Verdict.INCOMPLETE
    assert "items[0].costs" in [e.path for e in exam.errors]


def test_rvc_threshold_is_compared_unrounded(build, check, mat):
    at = build(materials=[mat("940599", "6000", "TW")])
    below = build(materials=[mat("940599", "6000.01", "TW")])
    assert item(check(at)).qualified
    result = item(check(below))
    assert not result.qualified
    assert result.rvc_percent is not None and result.rvc_percent < 40
    assert check(below).to_json()["items"][0]["rvc_percent"] == "40.00"


def test_accumulation_counts_materials_of_other_parties(build, check, mat):
    doc = build(
        materials=[mat("940599", "3000", "MY", originating=True), mat("940599", "4000", "TW")]
    )
    result = item(check(doc))
    assert result.criterion is TermKind.RVC
    assert result.accumulation
    assert result.box == "RVC, ACU"


def test_non_party_originating_claim_is_non_originating_with_a_note(build, check, mat):
    doc = build(
        materials=[mat("940599", "3000", "IN", originating=True), mat("940599", "4000", "TW")]
    )
    result = item(check(doc))
    assert result.verdict is Verdict.NOT_QUALIFIED
    assert any("not a Party to RCEP" in r for r in result.reasons)


def test_unknown_origin_is_non_originating(build, check, mat):
    doc = build(materials=[mat("940599", "3000", None, originating=True)])
    result = item(check(doc))
    assert result.criterion is TermKind.RVC  # 70 %, not PE
    assert any("origin is unknown" in r for r in result.reasons)


def test_rcep_without_a_rule_is_incomplete_naming_the_code(build, check, mat):
    doc = build(materials=[mat("392690", "1000", "TW")], item={"hs_code": "420212"})
    exam = check(doc)
    assert exam.verdict is Verdict.INCOMPLETE
    assert exam.errors[0].path == "items[0].hs_code"
    assert "420212" in exam.errors[0].message


def test_acfta_general_rule_and_percentage_box(build, check, mat):
    doc = build(
        materials=[mat("851680", "4500", "JP")],
        item={"hs_code": "851671"},
        agreement="ACFTA",
        importer={"name": "I", "address": "A", "country": "TH"},
    )
    result = item(check(doc))
    assert result.rule == "RVC40 or CTH"
    assert (result.criterion, result.box) == (TermKind.RVC, "55%")


def test_missing_materials_list_is_incomplete(build, check):
    doc = build()
    del doc["items"][0]["materials"]
    exam = check(doc)
    assert exam.verdict is Verdict.INCOMPLETE
    assert "items[0].materials" in [e.path for e in exam.errors]
