"""The verdict of an examination from its parts (Form E Rule 7; RCEP Art. 3.17), for the
steps that revise an examination after ``examine``: reuse of pre-exportation
determinations and the route check."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.errors import Problem
from pipeline.origin.determination import ItemResult, Verdict


def verdict_of(
    items: Iterable[ItemResult], errors: Iterable[Problem], refusals: Iterable[str]
) -> Verdict:
    """NOT_QUALIFIED if refused or an item fails; else INCOMPLETE if anything is missing or
    inconsistent; else QUALIFIED (the same rule as ``examine``)."""
    listed = list(items)
    if list(refusals) or any(i.verdict is Verdict.NOT_QUALIFIED for i in listed):
        return Verdict.NOT_QUALIFIED
    if list(errors) or any(i.verdict is Verdict.INCOMPLETE for i in listed):
        return Verdict.INCOMPLETE
    return Verdict.QUALIFIED
