"""Fixtures of the origin tests: document builders, a small rule table, an examiner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from origin_documents import ON_DATE, TEST_RULES, build_document, material, run_examination

from pipeline.origin import Examination, RuleBook, parse_rule_table

Builder = Callable[..., dict[str, Any]]


@pytest.fixture
def build() -> Builder:
    return build_document


@pytest.fixture
def rules() -> RuleBook:
    return RuleBook((parse_rule_table(TEST_RULES, "test.csv"),))


@pytest.fixture
def check(rules: RuleBook) -> Callable[..., Examination]:
    def run(doc: dict[str, Any], on_date: date = ON_DATE, **kwargs: Any) -> Examination:
        return run_examination(doc, rules, on_date, **kwargs)

    return run


@pytest.fixture
def mat() -> Callable[..., dict[str, Any]]:
    return material
