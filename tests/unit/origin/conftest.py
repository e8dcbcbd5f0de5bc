"""Fixtures of the origin tests: document builders, a small rule table, an examiner."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from origin_documents import ON_DATE, build_document, material

from pipeline.application import Application, parse_application
from pipeline.origin import Examination, RuleBook, examine, parse_rule_table

Builder = Callable[..., dict[str, Any]]


@pytest.fixture
def build() -> Builder:
    return build_document


TEST_RULES = """agreement,hs,rule
RCEP,94,CTH or RVC40
RCEP,9405,CTH or RVC40
RCEP,61,CC
RCEP,8539,CTSH or RVC40
RCEP,03,WO
RCEP,2009,CTSH and RVC40
"""


@pytest.fixture
def rules() -> RuleBook:
    return RuleBook((parse_rule_table(TEST_RULES, "test.csv"),))


def run_examination(
    doc: dict[str, Any], rules: RuleBook, on_date: date = ON_DATE, **kwargs: Any
) -> Examination:
    app: Application = parse_application(doc, "test.json")
    return examine(app, rules, on_date, **kwargs)


@pytest.fixture
def check(rules: RuleBook) -> Callable[..., Examination]:
    def run(doc: dict[str, Any], on_date: date = ON_DATE, **kwargs: Any) -> Examination:
        return run_examination(doc, rules, on_date, **kwargs)

    return run


@pytest.fixture
def mat() -> Callable[..., dict[str, Any]]:
    return material
