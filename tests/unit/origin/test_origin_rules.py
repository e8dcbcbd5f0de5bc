"""Rule parsing, rule tables and the precedence of tables in a RuleBook."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.application import Agreement
from pipeline.errors import InvalidRules
from pipeline.origin import (
    RuleBook,
    Term,
    TermKind,
    default_rulebook,
    parse_rule,
    parse_rule_table,
)


def test_parse_rule_alternatives_and_conjunctions():
    rule = parse_rule("cth or CTSH and rvc35")
    assert rule.alternatives == (
        (Term(TermKind.CTH),),
        (Term(TermKind.CTSH), Term(TermKind.RVC, Decimal(35))),
    )
    assert str(rule) == "CTH or CTSH and RVC35"


@pytest.mark.parametrize("text", ["", "CTH or", "RVC", "RVC0", "RVC101", "XYZ", "CTH and or CC"])
def test_parse_rule_refuses_bad_text(text):
    with pytest.raises(ValueError):
        parse_rule(text)


TABLE = """agreement,hs,rule,source
RCEP,94,CTH or RVC40,Annex 3A ch. 94
RCEP,9405,CC,a narrower row
RCEP,940542,WO,the narrowest row
ACFTA,03,WO,
"""


def test_longest_prefix_wins():
    table = parse_rule_table(TABLE, "t.csv")
    assert str(table.match(Agreement.RCEP, "940542").rule) == "WO"
    assert str(table.match(Agreement.RCEP, "940599").rule) == "CC"
    assert str(table.match(Agreement.RCEP, "940110").rule) == "CTH or RVC40"
    assert table.match(Agreement.RCEP, "030389") is None
    assert table.match(Agreement.RCEP, "940542").source == "the narrowest row"


def test_table_without_source_column():
    table = parse_rule_table("agreement,hs,rule\nRCEP,61,CC\n", "t.csv")
    entry = table.match(Agreement.RCEP, "610910")
    assert entry is not None and entry.source == "" and entry.location == "t.csv:2"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("agreement,hs\nRCEP,61\n", "t.csv:1"),
        ("agreement,hs,rule\nRCEP,61,CC\nEFTA,61,CC\n", "t.csv:3"),
        ("agreement,hs,rule\nRCEP,610,CC\n", "t.csv:2"),
        ("agreement,hs,rule\nRCEP,77,CC\n", "t.csv:2"),
        ("agreement,hs,rule\nRCEP,61,CX\n", "t.csv:2"),
        ("agreement,hs,rule\nRCEP,61,CC\n\nRCEP,61,CTH\n", "t.csv:4"),
        ("", "t.csv"),
    ],
)
def test_bad_rows_name_file_and_line(text, where):
    with pytest.raises(InvalidRules) as caught:
        parse_rule_table(text, "t.csv")
    assert str(caught.value).startswith(where)


def test_later_tables_take_precedence(tmp_path: Path):
    extra = tmp_path / "extra.csv"
    extra.write_text("agreement,hs,rule\nRCEP,94,RVC50\nACFTA,8516,CTSH\n")
    book = RuleBook.load([extra])
    assert str(book.rule_for(Agreement.RCEP, "940542").rule) == "RVC50"
    assert str(book.rule_for(Agreement.ACFTA, "851671").rule) == "CTSH"
    assert str(book.rule_for(Agreement.RCEP, "610910").rule) == "CC"  # from the built-in table


def test_general_rules():
    book = RuleBook()
    applied = book.rule_for(Agreement.ACFTA, "841451")
    assert str(applied.rule) == "RVC40 or CTH" and applied.is_general
    assert book.rule_for(Agreement.RCEP, "841451").rule is None


def test_unreadable_table(tmp_path: Path):
    with pytest.raises(InvalidRules, match="cannot read"):
        RuleBook.load([tmp_path / "missing.csv"])


def test_shipped_table_covers_the_key_products():
    book = default_rulebook()
    for code in ("940542", "853950", "851671", "610910", "030389", "870830"):
        entry = book.lookup(Agreement.RCEP, code)
        assert entry is not None and entry.source, code
    assert str(book.rule_for(Agreement.ACFTA, "030389").rule) == "WO"
