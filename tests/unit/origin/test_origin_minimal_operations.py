"""Minimal operations deny origin whatever the criterion (RCEP Art. 3.6; ACFTA Rule 7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from origin_documents import TEST_RULES, build_document, material, run_examination

from pipeline.application import Agreement
from pipeline.origin import RuleBook, Verdict, parse_rule_table
from pipeline.origin.operations import (
    OperationsVerdict,
    check_operations,
    minimal_operations,
    normalise_process,
)

RCEP, ACFTA = Agreement.RCEP, Agreement.ACFTA


@pytest.mark.parametrize(
    ("process", "citation"),
    [
        ("preservation for storage", "RCEP Art. 3.6(a)"),
        ("packaging", "RCEP Art. 3.6(b)"),
        ("sorting", "RCEP Art. 3.6(c)"),
        ("simple cutting", "RCEP Art. 3.6(c)"),
        ("uncoiling", "RCEP Art. 3.6(c)"),
        ("affixing labels", "RCEP Art. 3.6(d)"),
        ("mere dilution with water", "RCEP Art. 3.6(e)"),
        ("disassembly", "RCEP Art. 3.6(f)"),
        ("slaughtering", "RCEP Art. 3.6(g)"),
        ("simple painting", "RCEP Art. 3.6(h)"),
        ("simple peeling", "RCEP Art. 3.6(i)"),
        ("simple mixing", "RCEP Art. 3.6(j)"),
    ],
)
def test_each_operation_of_rcep_article_3_6_is_recognised(process: str, citation: str) -> None:
    """RCEP Art. 3.6(a)-(j): every listed operation is in the vocabulary, cited."""
    check = check_operations([process], RCEP)
    assert check.denies_origin
    assert check.minimal[0].operation.citation(RCEP) == citation
    assert citation in check.reason and repr(process) in check.reason


@pytest.mark.parametrize(
    "spelling", ["Re-Packing", "repacking", "RE-PACKING OF GOODS", "packing", "Packings"]
)
def test_matching_ignores_case_plural_and_hyphens(spelling: str) -> None:
    """RCEP Art. 3.6(b), written the ways exporters write it."""
    assert check_operations([spelling], RCEP).denies_origin


@pytest.mark.parametrize(
    ("synonym", "canonical"),
    [("palletizing", "palletising"), ("labeling", "labelling"), ("breaking up of packages",
                                                                 "breaking up package")],
)
def test_synonyms_reach_the_same_operation(synonym: str, canonical: str) -> None:
    first = check_operations([synonym], RCEP).minimal[0].operation
    second = check_operations([canonical], RCEP).minimal[0].operation
    assert first == second


def test_normalised_form_drops_filler_words() -> None:
    assert normalise_process("Breaking-up of the Packages") == "breakingup package"
    assert normalise_process("re-packing") == normalise_process("Repacking")


def test_a_word_minimal_only_when_simple_leaves_the_question_open() -> None:
    """RCEP Art. 3.6(c): "simple" cutting is minimal; bare "cutting" may not be."""
    check = check_operations(["cutting", "packing"], RCEP)
    assert check.verdict is OperationsVerdict.UNDECIDED and not check.denies_origin
    assert "does not decide" in check.reason and "'cutting'" in check.reason


def test_an_empty_process_list_does_not_decide() -> None:
    check = check_operations([], RCEP)
    assert check.verdict is OperationsVerdict.UNDECIDED
    assert "no processes are declared" in check.reason


def test_a_substantial_process_lifts_the_bar_and_is_named() -> None:
    check = check_operations(["packing", "injection moulding"], RCEP)
    assert check.verdict is OperationsVerdict.SUBSTANTIAL
    assert "'injection moulding' is not among the minimal operations" in check.reason


def test_washing_is_minimal_under_acfta_rule_7_only() -> None:
    """ACFTA Rule 7 lists washing and cleaning; RCEP Art. 3.6 does not."""
    assert check_operations(["washing"], ACFTA).denies_origin
    assert not check_operations(["washing"], RCEP).denies_origin


def test_simple_assembly_is_minimal_under_acfta_but_not_listed_in_rcep() -> None:
    """ACFTA Rule 7 lists simple assembly; RCEP Art. 3.6 has no assembly at all."""
    assert check_operations(["simple assembly"], ACFTA).denies_origin
    assert check_operations(["assembly"], ACFTA).verdict is OperationsVerdict.UNDECIDED
    assert check_operations(["simple assembly"], RCEP).verdict is OperationsVerdict.SUBSTANTIAL


MINIMAL_WORDS = sorted(
    word
    for operation in minimal_operations()
    if operation.citation(RCEP) and not operation.simple_only
    for word in operation.words
)


def _respell(word: str, upper: bool, hyphen: bool) -> str:
    text = word.upper() if upper else word
    return text.replace("re", "re-", 1) if hyphen and text.lower().startswith("re") else text


@given(
    st.lists(
        st.tuples(st.sampled_from(MINIMAL_WORDS), st.booleans(), st.booleans()),
        min_size=1,
        max_size=5,
    )
)
def test_any_combination_of_minimal_operations_is_minimal(
    picks: list[tuple[str, bool, bool]],
) -> None:
    """RCEP Art. 3.6(k): any combination of the listed operations is still minimal."""
    processes = [_respell(word, upper, hyphen) for word, upper, hyphen in picks]
    assert check_operations(processes, RCEP).denies_origin
    assert not check_operations([*processes, "weaving"], RCEP).denies_origin


def _examine(processes: list[str], agreement: str = "RCEP", **item: object) -> Verdict:
    rules = RuleBook((parse_rule_table(TEST_RULES, "test.csv"),))
    doc = build_document([material("850440", "1000", "TW")], {"processes": processes, **item})
    doc["agreement"] = agreement
    if agreement == "ACFTA":
        doc["importer"]["country"] = "TH"
    return run_examination(doc, rules).items[0].verdict


def test_minimal_operations_deny_a_good_that_meets_both_cth_and_rvc() -> None:
    """RCEP Art. 3.6 "notwithstanding": CTH and RVC40 both met, origin still denied."""
    assert _examine(["assembly"]) is Verdict.QUALIFIED
    assert _examine(["Re-packing", "affixing of labels", "labelling"]) is Verdict.NOT_QUALIFIED


def test_acfta_general_rule_is_denied_by_minimal_operations() -> None:
    """ACFTA Rule 7 against the general rule RVC40 or CTH."""
    assert _examine(["washing", "repacking"], "ACFTA") is Verdict.NOT_QUALIFIED


def test_wholly_obtained_goods_are_not_denied() -> None:
    """RCEP Art. 3.6 concerns work on non-originating materials: a WO good has none."""
    rules = RuleBook((parse_rule_table(TEST_RULES, "test.csv"),))
    doc = build_document(
        [], {"hs_code": "030389", "wholly_obtained": True, "processes": ["freezing", "packing"]}
    )
    assert run_examination(doc, rules).items[0].verdict is Verdict.QUALIFIED
