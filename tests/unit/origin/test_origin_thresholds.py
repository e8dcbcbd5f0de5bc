"""The arithmetic exactly at its thresholds (hypothesis): RVC 40 % (RCEP Art. 3.5, Annex 3A
headnote "RVC40"), de minimis 10 % of the FOB (RCEP Art. 3.7.1(a)) and of the weight for
chapters 50-63 (RCEP Art. 3.7.1(b))."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from origin_documents import ON_DATE, build_document, material

from pipeline.application import parse_application
from pipeline.origin import ItemResult, RuleBook, TermKind, examine, parse_rule_table

RULES = RuleBook((parse_rule_table(
    "agreement,hs,rule\nRCEP,94,CTH or RVC40\nRCEP,9401,RVC40\nRCEP,61,CC\n", "t.csv"
),))
CENT = Decimal("0.01")
# FOB values in multiples of 0.10, so that 10 % and 60 % of them are whole cents.
fobs = st.integers(min_value=10, max_value=10_000_000).map(lambda n: Decimal(n) / 10)


def _item(hs: str, materials: list[dict[str, object]], fob: Decimal, **item: object) -> ItemResult:
    doc = build_document(materials, {"hs_code": hs, "fob": {"amount": f"{fob:f}",
                                                            "currency": "USD"}, **item})
    return examine(parse_application(doc), RULES, ON_DATE).items[0]


@settings(max_examples=50, deadline=None)
@given(fob=fobs)
def test_rvc_of_exactly_40_percent_qualifies_and_a_cent_less_does_not(fob: Decimal) -> None:
    """RCEP Art. 3.5: RVC40 means "no less than 40 per cent", compared unrounded."""
    at_threshold = fob * Decimal("0.6")
    met = _item("940120", [material("940190", f"{at_threshold:f}", "TW")], fob)
    assert met.qualified and met.rvc_percent == Decimal(40)
    missed = _item("940120", [material("940190", f"{at_threshold + CENT:f}", "TW")], fob)
    assert not missed.qualified and missed.rvc_percent is not None
    assert missed.rvc_percent < Decimal(40)


@settings(max_examples=50, deadline=None)
@given(fob=fobs)
def test_de_minimis_of_exactly_10_percent_of_the_fob_holds(fob: Decimal) -> None:
    """RCEP Art. 3.7.1(a): "does not exceed 10 per cent of the FOB value"."""
    tenth = fob / 10
    within = _item("940542", [material("940599", f"{tenth:f}", "TW")], fob,
                   processes=["assembly"])
    assert within.criterion is TermKind.CTH and within.de_minimis
    over = _item("940542", [material("940599", f"{tenth + CENT:f}", "TW")], fob,
                 processes=["assembly"])
    assert not over.de_minimis and over.criterion is not TermKind.CTH


@settings(max_examples=50, deadline=None)
@given(weight=st.integers(min_value=10, max_value=1_000_000).map(lambda n: Decimal(n) / 10))
def test_weight_de_minimis_of_exactly_10_percent_holds_for_chapters_50_to_63(
    weight: Decimal,
) -> None:
    """RCEP Art. 3.7.1(b): a T-shirt (61) whose failing yarn weighs exactly 10 % of the good."""
    tenth = weight / 10
    fob = Decimal(1000)

    def shirt(material_weight: Decimal) -> ItemResult:
        yarn = material("610990", "900", "TW", weight_kg=f"{material_weight:f}")
        return _item("610910", [yarn], fob, gross_weight_kg=f"{weight:f}", processes=["sewing"])

    assert shirt(tenth).de_minimis
    assert not shirt(tenth + CENT).de_minimis
