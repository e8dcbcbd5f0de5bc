"""Properties of the RVC and de minimis arithmetic (hypothesis)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from origin_documents import ON_DATE, build_document, material

from pipeline.application import parse_application
from pipeline.origin import RuleBook, Verdict, examine, parse_rule_table

RULES = RuleBook((parse_rule_table("agreement,hs,rule\nRCEP,94,CTH or RVC40\n", "p.csv"),))
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2)


def rvc(materials, fob):
    doc = build_document(materials=materials, item={"fob": {"amount": str(fob), "currency": "USD"}})
    return examine(parse_application(doc), RULES, ON_DATE).items[0]


@settings(max_examples=60, deadline=None)
@given(fob=amounts, values=st.lists(amounts, min_size=1, max_size=5))
def test_rvc_never_exceeds_100_and_matches_the_formula(fob, values):
    result = rvc([material("940599", str(v), "TW") for v in values], fob)
    assert result.rvc_percent is not None
    assert result.rvc_percent <= 100
    assert result.rvc_percent == (fob - sum(values)) / fob * 100


@settings(max_examples=60, deadline=None)
@given(fob=amounts, values=st.lists(amounts, min_size=1, max_size=4), extra=amounts)
def test_adding_a_non_originating_material_never_raises_rvc(fob, values, extra):
    materials = [material("940599", str(v), "TW") for v in values]
    before = rvc(materials, fob).rvc_percent
    after = rvc([*materials, material("940510", str(extra), "TW")], fob).rvc_percent
    assert before is not None and after is not None and after < before


@settings(max_examples=60, deadline=None)
@given(fob=amounts, value=amounts)
def test_threshold_decides_exactly_at_40(fob, value):
    result = rvc([material("940599", str(value), "TW")], fob)
    assert result.qualified == ((fob - value) / fob * 100 >= 40)


@settings(max_examples=60, deadline=None)
@given(fob=amounts, failing=amounts, changing=amounts)
def test_de_minimis_by_value(fob, failing, changing):
    materials = [material("940599", str(failing), "TW"), material("850440", str(changing), "TW")]
    result = rvc(materials, fob)
    within = failing <= fob / 10
    assert (result.criterion is not None and result.criterion.value == "CTH") == within
    assert result.de_minimis == within
    if not within:
        assert result.verdict in (Verdict.QUALIFIED, Verdict.NOT_QUALIFIED)
