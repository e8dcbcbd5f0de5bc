"""Packing materials and accessories (RCEP Articles 3.8 and 3.9; ACFTA Rules 10 and 11)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from origin_documents import TEST_RULES, build_document, material, run_examination

from pipeline.origin import ItemResult, RuleBook, TermKind, Verdict, parse_rule_table

RULES = RuleBook((parse_rule_table(TEST_RULES + "RCEP,8516,CTH\n", "test.csv"),))


def _item(materials: list[dict[str, Any]], **item: Any) -> ItemResult:
    return run_examination(build_document(materials, item), RULES).items[0]


def _same_heading(value: str, role: str | None = None) -> dict[str, Any]:
    """A non-originating material of the good's own heading (9405), failing CTH."""
    extra = {"role": role} if role else {}
    return material("940599", value, "TW", description="gift box", **extra)


def test_retail_packing_is_disregarded_for_the_tariff_shift() -> None:
    """RCEP Art. 3.8.2: retail packing classified with the good does not count for CTH."""
    assert _item([_same_heading("3000")]).criterion is TermKind.RVC
    result = _item([_same_heading("3000", "packing-retail")])
    assert result.criterion is TermKind.CTH
    assert any("retail packing, disregarded for the tariff shift" in r and "RCEP Art. 3.8.2" in r
               for r in result.reasons)


def test_retail_packing_counts_in_the_rvc() -> None:
    """RCEP Art. 3.8.2(d): the value of retail packing counts in the RVC by its origin."""
    result = _item([_same_heading("7000", "packing-retail"), material("850440", "1000", "TW")])
    assert result.criterion is TermKind.CTH  # the packing does not stop the shift
    shift_fails = _item(
        [_same_heading("7000", "packing-retail"), material("940510", "1500", "TW")]
    )
    assert shift_fails.verdict is Verdict.NOT_QUALIFIED
    assert shift_fails.rvc_percent == Decimal(15)  # (10000 - 7000 - 1500) / 10000


def test_accessories_are_treated_like_retail_packing() -> None:
    """RCEP Art. 3.9: accessories, spare parts and tools delivered with the good."""
    result = _item([_same_heading("3000", "accessory")])
    assert result.criterion is TermKind.CTH
    assert any("an accessory" in r and "RCEP Art. 3.9" in r for r in result.reasons)
    fails = _item([_same_heading("7000", "accessory"), material("940510", "1500", "TW")])
    assert (fails.verdict, fails.rvc_percent) == (Verdict.NOT_QUALIFIED, Decimal(15))


def test_transport_packing_is_disregarded_altogether() -> None:
    """RCEP Art. 3.8.1: packing and containers for transport never count."""
    result = _item([_same_heading("9000", "packing-transport"), material("940510", "1000", "TW")])
    assert result.rvc_percent == Decimal(90)  # only the 1000 of the lamp part counts
    assert any("packing for transport, disregarded altogether (RCEP Art. 3.8.1)" in r
               for r in result.reasons)


def test_packing_does_not_enter_the_de_minimis_share() -> None:
    """RCEP Art. 3.7 with Art. 3.8: only materials that must shift are weighed."""
    doc = build_document(
        [_same_heading("900", "packing-retail"), material("940510", "900", "TW")],
        {"processes": ["assembly"]},
    )
    rules = RuleBook((parse_rule_table("agreement,hs,rule\nRCEP,94,CTH\n", "t.csv"),))
    result = run_examination(doc, rules).items[0]
    assert result.de_minimis and result.criterion is TermKind.CTH
    assert not any("1800.00" in w for w in result.workings)


def test_acfta_cites_its_own_rules() -> None:
    """ACFTA Rules 10 and 11 (packing; accessories, spare parts and tools)."""
    doc = build_document([_same_heading("3000", "packing-retail")], agreement="ACFTA")
    doc["importer"]["country"] = "TH"
    result = run_examination(doc, RULES).items[0]
    assert result.criterion is TermKind.CTH
    assert any("ACFTA Rule 10" in r for r in result.reasons)
