"""ACFTA's cumulative rule of origin and its condition (ACFTA Rules of Origin, Rule 5).

Under ACFTA, materials originating in another Party count as originating in the Party
where the final good is made only if the aggregate ACFTA content of that good is at least
40 %: the regional value content with every ACFTA-originating material counted as
originating. The condition is needed only when the item would qualify because of such
materials; RCEP accumulation (Art. 3.4) has no such condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pipeline.application import Agreement
from pipeline.errors import Problem
from pipeline.origin.criteria import Good, Outcome, value_content
from pipeline.origin.figures import show
from pipeline.origin.rules import Term, TermKind
from pipeline.origin.standing import Standing, View

AGGREGATE_CONTENT = Decimal(40)
RULE = "ACFTA Rule 5"


@dataclass(frozen=True)
class Cumulation:
    """Whether the condition was needed, whether it was met (None: cannot be told), and the
    aggregate ACFTA content it was measured by."""

    needed: bool
    met: bool | None = None
    content_percent: Decimal | None = None
    reason: str = ""
    problems: tuple[Problem, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``cumulation`` member of an item in ``eco check --json``."""
        return {
            "needed": self.needed,
            "met": self.met,
            "content_percent": show(self.content_percent)
            if self.content_percent is not None
            else None,
        }


NOT_NEEDED = Cumulation(needed=False)


def has_other_parties_materials(good: Good) -> bool:
    """True when a material originates in another Party (the case for cumulation)."""
    return any(m.standing is Standing.ACCUMULATED for m in good.materials or ())


def cumulation_condition(good: Good) -> Cumulation:
    """The aggregate ACFTA content of ``good`` against 40 % (ACFTA Rule 5), measured as the
    item's RVC (its method) with the other Parties' materials counted as originating."""
    if good.agreement is not Agreement.ACFTA:
        return NOT_NEEDED
    finding = value_content(Term(TermKind.RVC, AGGREGATE_CONTENT), good, View(accumulate=True))
    head = (
        f"ACFTA cumulation ({RULE}): the materials of other Parties count as originating only "
        f"if the aggregate ACFTA content is at least {AGGREGATE_CONTENT} %"
    )
    if finding.outcome is Outcome.UNKNOWN or finding.rvc_percent is None:
        return Cumulation(
            needed=True,
            reason=f"{head}; it cannot be computed, so they were not counted as originating",
            problems=finding.problems,
        )
    percent = finding.rvc_percent
    met = finding.outcome is Outcome.MET
    verdict = (
        "condition met" if met else "condition not met: they were counted as non-originating"
    )
    sign = ">=" if met else "<"
    reason = f"{head}: it is {show(percent)} % {sign} {AGGREGATE_CONTENT} %, {verdict}"
    return Cumulation(needed=True, met=met, content_percent=percent, reason=reason)
