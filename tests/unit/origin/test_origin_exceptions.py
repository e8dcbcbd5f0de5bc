"""Tariff shifts with exceptions ("except from"), as RCEP Annex 3A writes them. Headnote 6 of
the Annex: where a CTC rule expressly excludes a change from other tariff classifications, the
exclusion applies only to non-originating materials. Rows cited from RCEP Annex 3A (HS 2012):
0504.00 (guts, bladders and stomachs of animals) "CC except from Chapter 01" (page 67 of the
Agreement's published text) and 1302.19 (other vegetable saps and extracts) "CC except from
subheading 1211.20" (page 74, Annex page 3A-19)."""

from __future__ import annotations

import pytest
from origin_documents import material, run_examination

from pipeline.errors import InvalidRules
from pipeline.origin import RuleBook, TermKind, Verdict, parse_rule_table
from pipeline.origin.lookup import meaning
from pipeline.origin.rules import parse_exceptions, parse_rule

ANNEX_ROWS = """agreement,hs,rule,source,status
RCEP,050400,CC except from Chapter 01,"RCEP Annex 3A (HS 2012), 0504.00 (text p. 67)",checked
RCEP,130219,CC except from subheading 1211.20,"RCEP Annex 3A (HS 2012), 1302.19, page 3A-19",checked
"""
BOOK = RuleBook((parse_rule_table(ANNEX_ROWS, "annex.csv"),))


def _item(build, hs: str, materials: list[dict[str, object]]):
    doc = build(materials=materials, item={"hs_code": hs, "processes": ["cleaning", "drying"]})
    return run_examination(doc, BOOK).items[0]


def test_the_annex_wording_parses_to_the_excepted_codes() -> None:
    [[cc]] = parse_rule("CC except from Chapter 01").alternatives
    assert (cc.kind, cc.excepted, str(cc)) == (TermKind.CC, ("01",), "CC except from Chapter 01")
    [[sub]] = parse_rule("CC except from subheading 1211.20").alternatives
    assert sub.excepted == ("121120",) and str(sub) == "CC except from 1211.20"
    assert parse_exceptions("headings 52.04-52.07, 5509") == ("5204", "5205", "5206", "5207",
                                                            "5509")
    rule = parse_rule("CTH except from 52.04, 52.05 or RVC40")
    assert [str(a[0]) for a in rule.alternatives] == ["CTH except from 52.04, 52.05", "RVC40"]
    assert "none comes from Chapter 01" in meaning(parse_rule("CC except from Chapter 01").terms[0])


@pytest.mark.parametrize("text", ["CC except from", "CTH except from heading 5204.11",
                                  "CTH except from 52.07-52.04", "CTH except from 52.0x",
                                  "CTH except from 52-5204"])
def test_a_malformed_exception_is_a_bad_row_naming_its_line(text: str) -> None:
    with pytest.raises(InvalidRules, match=r"annex\.csv:2"):
        parse_rule_table(f"agreement,hs,rule\nRCEP,5209,{text}\n", "annex.csv")


def test_guts_from_live_animals_of_chapter_01_do_not_make_the_change(build) -> None:
    """0504.00 CC except from Chapter 01: non-originating live animals (01.02) change chapter
    but come from the excepted chapter, so the rule is not met (above de minimis)."""
    result = _item(build, "050400", [material("010229", "6000", "AU")])
    assert result.verdict is Verdict.NOT_QUALIFIED
    assert any("comes from the excepted Chapter 01" in w for w in result.workings)
    assert any(r.startswith("CC except from Chapter 01 not met") for r in result.reasons)


def test_guts_from_other_chapters_meet_the_rule(build) -> None:
    result = _item(build, "050400", [material("020629", "6000", "AU")])
    assert result.qualified and result.criterion is TermKind.CC
    assert any("changes chapter" in w for w in result.workings)


def test_an_excepted_material_within_de_minimis_is_allowed(build) -> None:
    """RCEP Art. 3.7: a material that does not make the required change may be disregarded
    up to 10 % of the FOB; an excepted material is one that does not make it."""
    result = _item(build, "050400", [material("010229", "1000", "AU"),
                                     material("020629", "5000", "AU")])
    assert result.qualified and result.de_minimis


def test_a_subheading_exception_needs_the_materials_six_digits(build) -> None:
    """1302.19 CC except from subheading 1211.20 (ginseng roots)."""
    excepted = _item(build, "130219", [material("121120", "6000", "KR")])
    assert excepted.verdict is Verdict.NOT_QUALIFIED
    other = _item(build, "130219", [material("121190", "6000", "KR")])
    assert other.qualified
    unknown = _item(build, "130219", [material("1211", "6000", "KR")])
    assert unknown.verdict is Verdict.INCOMPLETE
    assert any("cannot tell whether it comes from 1211.20" in w for w in unknown.workings)
