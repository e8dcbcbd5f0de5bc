"""Which product-specific rule applies to an HS code, and why (``eco rules check``).

The answer names the table and row that decide (the longest matching prefix in the table of
highest precedence that has one), the rows it takes precedence over, or the agreement's
general rule, and what each term of the rule requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.application.agreement import Agreement, known_hs_chapter
from pipeline.origin.processes import process_rules
from pipeline.origin.rules import (
    GENERAL_RULES,
    Rule,
    RuleBook,
    RuleEntry,
    Term,
    TermKind,
    show_exceptions,
)

_MEANINGS = {
    TermKind.WO: "wholly obtained or produced in the Party (RCEP Art. 3.3; ACFTA Rule 3)",
    TermKind.PE: "produced entirely from originating materials (RCEP Art. 3.2(b))",
    TermKind.CC: "every non-originating material changes chapter (2 digits)",
    TermKind.CTH: "every non-originating material changes heading (4 digits)",
    TermKind.CTSH: "every non-originating material changes subheading (6 digits)",
}


def meaning(term: Term) -> str:
    """What ``term`` requires, in one line."""
    if term.kind is TermKind.RVC:
        return (
            f"regional value content of at least {term.threshold} % (RCEP Art. 3.5; "
            "ACFTA Rule 4)"
        )
    if term.kind is TermKind.PROCESS:
        rule = process_rules()[term.process or ""]
        return f"{rule.description} ({rule.source})"
    if term.excepted:
        return (f"{_MEANINGS[term.kind]}, and none comes from {show_exceptions(term.excepted)} "
                "(a material from an excepted code does not make the change)")
    return _MEANINGS[term.kind]


@dataclass(frozen=True)
class RuleAnswer:
    """The rule for one agreement and HS code, where it comes from, and why."""

    agreement: Agreement
    hs_code: str
    rule: Rule | None
    entry: RuleEntry | None
    why: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The ``eco rules check --json`` object for one agreement."""
        entry = self.entry
        return {
            "agreement": self.agreement.value,
            "hs_code": self.hs_code,
            "rule": str(self.rule) if self.rule else None,
            "from": entry.location if entry else ("general rule" if self.rule else None),
            "row_hs": entry.hs if entry else None,
            "source": entry.source if entry else None,
            "status": entry.status if entry else None,
            "why": list(self.why),
            "terms": {str(t): meaning(t) for t in self.rule.terms} if self.rule else {},
        }


def normalise_hs(text: str) -> str:
    """``94.05.42`` -> ``940542``; ValueError unless 2, 4 or 6 digits of a known chapter."""
    code = text.replace(".", "").strip()
    if not code.isdigit() or len(code) not in (2, 4, 6) or not known_hs_chapter(code):
        raise ValueError(
            f"{text!r} is not an HS chapter, heading or subheading (2, 4 or 6 digits, 01-97)"
        )
    return code


def explain_rule(book: RuleBook, agreement: Agreement, hs_code: str) -> RuleAnswer:
    """The rule ``book`` applies to ``hs_code`` under ``agreement``, with the reasons."""
    why: list[str] = []
    decided: RuleEntry | None = None
    for table in reversed(book.tables):
        entry = table.match(agreement, hs_code)
        if entry is None:
            continue
        if decided is None:
            decided = entry
            level = {2: "chapter", 4: "heading", 6: "subheading"}[len(entry.hs)]
            why.append(
                f"{entry.location}: {agreement} {entry.hs} ({level}) is the longest prefix of "
                f"{hs_code} in {table.name}, the table of highest precedence with a row for it"
            )
            status = entry.status or "no status given"
            why.append(f"source: {entry.source or 'none cited'} ({status})")
        else:
            why.append(
                f"{entry.location}: {agreement} {entry.hs} ({entry.rule}) is overridden by "
                f"{decided.location}"
            )
    if decided is not None:
        return RuleAnswer(agreement, hs_code, decided.rule, decided, tuple(why))
    general = GENERAL_RULES[agreement]
    if general is not None:
        why.append(
            f"no table has a row for {hs_code}: the {agreement} general rule applies (ACFTA "
            "Rule 4: RVC40 or CTH)"
        )
    else:
        why.append(
            f"no table has a row for {hs_code} and {agreement} has no general rule: an item of "
            "this code is INCOMPLETE until a table covering it is loaded (--rules)"
        )
    return RuleAnswer(agreement, hs_code, general, None, tuple(why))
