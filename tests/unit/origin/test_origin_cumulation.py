"""ACFTA's cumulative rule of origin and its 40 % condition (ACFTA Rules of Origin, Rule 5);
RCEP accumulation (Art. 3.4) has no such condition."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from origin_documents import build_document, material, run_examination

from pipeline.origin import ItemResult, RuleBook, TermKind, Verdict, parse_rule_table

RULES = RuleBook((parse_rule_table("agreement,hs,rule\nRCEP,8516,CTH or RVC40\n", "t.csv"),))


def _kettle(agreement: str, taiwan_value: str | None, malaysia_hs: str = "851680") -> ItemResult:
    """A kettle (8516.71) of 10000 FOB with heating elements from Malaysia (originating, the
    same heading unless ``malaysia_hs`` says otherwise) and a Taiwanese part of another heading."""
    materials: list[dict[str, Any]] = [
        material(malaysia_hs, "1500.00", "MY", originating=True),
        material("392690", taiwan_value, "TW"),
    ]
    doc = build_document(materials, {"hs_code": "851671"}, agreement=agreement)
    doc["importer"]["country"] = "TH"
    return run_examination(doc, RULES).items[0]


def test_cumulation_met_at_60_percent_content() -> None:
    """ACFTA Rule 5: content (10000 - 4000) / 10000 = 60 % >= 40 %: Malaysia's part counts."""
    result = _kettle("ACFTA", "4000.00")
    assert result.verdict is Verdict.QUALIFIED and result.accumulation
    assert result.criterion is TermKind.CTH
    assert (result.cumulation.needed, result.cumulation.met) == (True, True)
    assert result.cumulation.content_percent == Decimal(60)
    assert any("ACFTA cumulation (ACFTA Rule 5)" in r and "condition met" in r
               for r in result.reasons)


def test_cumulation_not_met_counts_other_parties_materials_as_non_originating() -> None:
    """ACFTA Rule 5: content 30 % < 40 %, so Malaysia's heating elements are non-originating."""
    result = _kettle("ACFTA", "7000.00")
    assert result.verdict is Verdict.NOT_QUALIFIED
    assert (result.cumulation.needed, result.cumulation.met) == (True, False)
    assert any("condition not met" in r for r in result.reasons)


def test_the_condition_is_not_needed_when_the_good_qualifies_without_cumulation() -> None:
    """ACFTA Rule 5 matters only when the result relies on other Parties' materials."""
    result = _kettle("ACFTA", "7000.00", malaysia_hs="732690")
    assert result.verdict is Verdict.QUALIFIED and result.criterion is TermKind.CTH
    assert not result.cumulation.needed
    assert not any("ACFTA cumulation" in r for r in result.reasons)


def test_rcep_accumulation_has_no_condition() -> None:
    """RCEP Art. 3.4: the same kettle qualifies under RCEP with 30 % content (ACU)."""
    result = _kettle("RCEP", "7000.00")
    assert result.verdict is Verdict.QUALIFIED and result.accumulation
    assert result.box == "CTC, ACU"
    assert not result.cumulation.needed


def test_an_unknown_content_makes_the_item_incomplete() -> None:
    """ACFTA Rule 5 cannot be checked without the Taiwanese part's value."""
    result = _kettle("ACFTA", None)
    assert result.verdict is Verdict.INCOMPLETE
    assert result.cumulation.needed and result.cumulation.met is None
    assert "items[0].materials[1].value" in {p.path for p in result.errors}


@given(st.integers(min_value=0, max_value=800_000))
def test_the_condition_holds_from_exactly_40_percent(taiwan_cents: int) -> None:
    """ACFTA Rule 5 at its threshold: content >= 40 % (6000.00 of non-ACFTA value) passes."""
    value = Decimal(taiwan_cents) / 100
    result = _kettle("ACFTA", f"{value:.2f}")
    meets = value <= Decimal(6000)
    assert result.cumulation.met is meets
    assert (result.verdict is Verdict.QUALIFIED) is meets


def test_exactly_40_percent_is_met() -> None:
    result = _kettle("ACFTA", "6000.00")
    assert result.cumulation.content_percent == Decimal(40) and result.cumulation.met
    assert _kettle("ACFTA", "6000.01").cumulation.met is False
