"""Process rules of the product-specific rules, read against the declared processes:
chemical reaction (RCEP Annex 3A headnote, ``CR``; chapters 28-40) and the textile
processes of chapters 50-63 (ACFTA product-specific rules)."""

from __future__ import annotations

from typing import Any

import pytest
from origin_documents import build_document, material, run_examination

from pipeline.errors import InvalidRules
from pipeline.origin import (
    ItemResult,
    RuleBook,
    TermKind,
    Verdict,
    default_rulebook,
    parse_rule,
    parse_rule_table,
)
from pipeline.origin.processes import process_rules, read_processes

RULES = RuleBook((parse_rule_table(
    "agreement,hs,rule\nRCEP,29,CR\nRCEP,3808,CTH or CR\nACFTA,61,RVC40 or TX-GARMENT\n", "t.csv"
),))


def _item(hs: str, processes: list[str], agreement: str = "RCEP", **extra: Any) -> ItemResult:
    doc = build_document(
        [material(hs[:4] + "99" if hs[:4] != "2915" else "291590", "9000", "TW")],
        {"hs_code": hs, "processes": processes, **extra},
        agreement=agreement,
    )
    if agreement == "ACFTA":
        doc["importer"]["country"] = "TH"
    return run_examination(doc, RULES).items[0]


def test_a_declared_synthesis_meets_cr() -> None:
    """RCEP Annex 3A headnote: CR, a chemical reaction giving a new molecule."""
    result = _item("291511", ["esterification", "distillation"])
    assert result.verdict is Verdict.QUALIFIED
    assert (result.criterion, result.criterion_code, result.box) == (TermKind.PROCESS, "CR", "CR")
    assert any("CR met: declared 'esterification'" in r for r in result.reasons)


def test_dissolving_is_expressly_not_a_chemical_reaction() -> None:
    """RCEP Annex 3A headnote: dissolving and eliminating solvents are not chemical reactions."""
    result = _item("291511", ["dissolving in water", "solvent removal", "filling"])
    assert result.verdict is Verdict.NOT_QUALIFIED
    assert any("CR not met" in r and "expressly not it" in r for r in result.reasons)


@pytest.mark.parametrize("processes", [["chemical processing"], []])
def test_when_the_processes_cannot_decide_the_item_is_incomplete(processes: list[str]) -> None:
    """The engine says that the declared processes do not decide CR, and asks for them."""
    result = _item("291511", processes)
    assert result.verdict is Verdict.INCOMPLETE
    assert [p.path for p in result.errors] == ["items[0].processes"]
    assert any("CR undecided" in r for r in result.reasons)


def test_a_process_rule_is_one_alternative_among_others() -> None:
    """RCEP Annex 3A headnote 4: alternatives are OR; CTH suffices without the reaction."""
    doc = build_document(
        [material("290511", "9000", "TW")], {"hs_code": "380891", "processes": ["mixing"]}
    )
    result = run_examination(doc, RULES).items[0]
    assert result.criterion is TermKind.CTH


def test_garments_cut_and_sewn_meet_the_textile_process_rule() -> None:
    """ACFTA textile rule for chapter 61: cut and sewn (or knitted to shape) in a Party."""
    result = _item("610910", ["Cutting of fabric", "sewing", "packing"], "ACFTA")
    assert result.verdict is Verdict.QUALIFIED and result.criterion_code == "TX-GARMENT"
    assert result.box == "PSR"
    assert _item("611020", ["knitting to shape"], "ACFTA").qualified


def test_sewing_alone_does_not_meet_cut_and_sewn() -> None:
    reading = read_processes(process_rules()["TX-GARMENT"], ["sewing", "ironing"])
    assert reading.met is False and "'ironing' is expressly not it" in reading.reason


def test_a_vague_garment_process_is_undecided() -> None:
    reading = read_processes(process_rules()["TX-GARMENT"], ["garment making"])
    assert reading.met is None and "does not say" in reading.reason


def test_process_terms_parse_and_unknown_ones_name_the_known() -> None:
    rule = parse_rule("RVC40 or CR")
    assert [str(t) for t in rule.terms] == ["RVC40", "CR"]
    with pytest.raises(InvalidRules, match="TX-GARMENT"):
        parse_rule_table("agreement,hs,rule\nRCEP,29,CR or BREWING\n", "bad.csv")


def test_the_shipped_acfta_garment_rule_needs_the_change_and_the_process() -> None:
    """ACFTA textile rule (as shipped): CC and cut-and-sewn, or RVC40."""
    def shirt(processes: list[str], fabric_value: str) -> ItemResult:
        doc = build_document([material("600622", fabric_value, "IN")],
                             {"hs_code": "610910", "processes": processes}, agreement="ACFTA")
        doc["importer"]["country"] = "MY"
        return run_examination(doc, default_rulebook()).items[0]

    assert shirt(["cutting", "sewing"], "7000").verdict is Verdict.QUALIFIED  # CC and TX
    assert shirt(["sewing"], "7000").verdict is Verdict.NOT_QUALIFIED  # RVC 30 %, not cut
    assert shirt(["sewing"], "5000").criterion is TermKind.RVC  # RVC 50 % still suffices
