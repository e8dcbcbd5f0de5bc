"""The Box 4 code list: our reasons with their fixes, and each country's codes mapped to them."""

from __future__ import annotations

import pytest

from connectors.customs.box4 import OTHER, box4_code_list, parse_code_list

REASONS = {"CRITERION_PSR_MISMATCH", "HS_CODE_MISMATCH", "PRESENTED_AFTER_VALIDITY",
           "SIGNATURE_NOT_RECOGNISED", "RETROACTIVE_NOT_MARKED", OTHER}


def test_the_shipped_list_names_the_five_usual_reasons_each_with_a_fix() -> None:
    codes = box4_code_list()
    assert set(codes.reasons) == REASONS
    assert all(reason.fix and reason.text for reason in codes.reasons.values())


@pytest.mark.parametrize(("country", "code", "ours"), [
    ("VN", "B4-02", "HS_CODE_MISMATCH"),
    ("th", "th-sig-04", "SIGNATURE_NOT_RECOGNISED"),
    ("MY", "MY05", "RETROACTIVE_NOT_MARKED"),
    ("ID", "FEEDBACK-03", "PRESENTED_AFTER_VALIDITY"),
    ("PH", "RVC_NOT_SUBSTANTIATED", "CRITERION_PSR_MISMATCH"),  # a code of every country
    ("VN", "HS_CODE_MISMATCH", "HS_CODE_MISMATCH"),  # ours are understood everywhere
    ("VN", "MY05", OTHER),  # another country's code means nothing here
    ("KH", "B4-02", OTHER),
])
def test_each_country_code_maps_to_ours(country: str, code: str, ours: str) -> None:
    assert box4_code_list().classify(country, code).code == ours


def test_the_suggested_action_lists_each_fix_once_in_order() -> None:
    codes = box4_code_list()
    action = codes.suggested_action("VN", ["B4-02", "B4-01", "B4-03"])
    assert action.index("HS_CODE_MISMATCH") < action.index("CRITERION_PSR_MISMATCH")
    assert action.count("CRITERION_PSR_MISMATCH") == 1
    assert codes.suggested_action("VN", []) == codes.reasons[OTHER].fix


def test_a_country_mapping_to_an_unknown_reason_is_refused() -> None:
    data = {"reasons": {OTHER: {"text": "t", "fix": "f"}}, "countries": {"VN": {"X": "NOPE"}}}
    with pytest.raises(ValueError, match=r"countries\.VN: NOPE"):
        parse_code_list(data)
    with pytest.raises(ValueError, match=OTHER):
        parse_code_list({"reasons": {}})
