"""``eco rules list|check HS``: which product-specific rule applies to a code, and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.application import Agreement
from pipeline.cli import main
from pipeline.origin import RuleBook, default_rulebook, parse_rule_table
from pipeline.origin.lookup import explain_rule, normalise_hs

OVERLAY = "agreement,hs,rule,source,status\nRCEP,9405,CTSH or RVC40,test overlay,checked\n"


def test_every_shipped_row_cites_a_source_and_a_status() -> None:
    """The rows "to be checked" now say whether they were compared with the annex."""
    [table] = default_rulebook().tables
    for entry in table.entries.values():
        assert entry.source, entry.location
        assert entry.status in ("checked", "not checked"), entry.location
    assert default_rulebook().lookup(Agreement.RCEP, "851890").rule is not None
    assert str(default_rulebook().rule_for(Agreement.RCEP, "851890").rule) == "CTH or RVC40"


def test_the_longest_prefix_of_the_highest_table_decides_and_says_so() -> None:
    book = default_rulebook().with_table(parse_rule_table(OVERLAY, "overlay.csv"))
    answer = explain_rule(book, Agreement.RCEP, "940542")
    assert str(answer.rule) == "CTSH or RVC40"
    assert answer.entry is not None and answer.entry.location == "overlay.csv:2"
    assert "longest prefix" in answer.why[0]
    assert any("overridden by overlay.csv:2" in line for line in answer.why)


def test_acfta_falls_back_to_its_general_rule_and_rcep_has_none() -> None:
    book = RuleBook()
    assert str(explain_rule(book, Agreement.ACFTA, "851671").rule) == "RVC40 or CTH"
    answer = explain_rule(book, Agreement.RCEP, "851671")
    assert answer.rule is None and "no general rule" in answer.why[0]


@pytest.mark.parametrize("bad", ["9", "94054", "7705", "abc"])
def test_bad_hs_codes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="not an HS"):
        normalise_hs(bad)


def test_check_prints_the_rule_the_row_and_the_terms(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", "6109.10", "--agreement", "ACFTA", "--json"]) == 0
    [answer] = json.loads(capsys.readouterr().out)
    assert answer["rule"] == "RVC40 or CC and TX-GARMENT" and answer["status"] == "not checked"
    assert "cut and sewn" in answer["terms"]["TX-GARMENT"]


def test_check_exits_1_when_no_rule_applies_and_2_on_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["rules", "check", "2915", "--agreement", "RCEP"]) == 1
    assert "no general rule" in capsys.readouterr().out
    assert main(["rules", "check", "29x"]) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("agreement,hs,rule\nRCEP,94,CTX\n")
    assert main(["rules", "list", "--rules", str(bad)]) == 2
    assert "bad.csv:2" in capsys.readouterr().err


def test_list_shows_the_overlay_after_the_shipped_rows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    overlay = tmp_path / "overlay.csv"
    overlay.write_text(OVERLAY)
    assert main(["rules", "list", "--rules", str(overlay), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[-1]["location"].endswith("overlay.csv:2")
    assert {r["agreement"] for r in rows} == {"RCEP", "ACFTA"}
