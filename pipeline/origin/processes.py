"""Process rules of the product-specific rules, read against the declared processes.

Some rules require a production process rather than (or besides) a tariff shift or a
value: a chemical reaction in chapters 28-40 (``CR``, RCEP Annex 3A headnote), or the
textile processes of chapters 50-63 (spinning, fabric formation, cutting and sewing).
The processes are data (``data/process_rules.csv``); this module says, for one item's
declared processes, whether the rule is met, not met, or cannot be decided with what
was declared, and which words decided it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pipeline.origin.operations import normalise_process

Spellings = frozenset[str]


@dataclass(frozen=True)
class ProcessRule:
    """One process rule: alternatives of steps that must all be declared."""

    code: str
    description: str
    source: str
    requires: tuple[tuple[Spellings, ...], ...]
    excluded: Spellings
    vague: Spellings


def _spellings(text: str) -> Spellings:
    return frozenset(normalise_process(s) for s in text.split("|") if s.strip())


def read_process_rules(text: str) -> dict[str, ProcessRule]:
    """Rules by code from CSV text (``code,description,source,requires,excluded,vague``)."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    rules: dict[str, ProcessRule] = {}
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        code = row["code"].strip().upper()
        requires = tuple(
            tuple(_spellings(step) for step in alternative.split(" + "))
            for alternative in row["requires"].split(" / ")
        )
        if not all(all(step) for alt in requires for step in alt):
            raise ValueError(f"process rule {code}: an empty step in {row['requires']!r}")
        rules[code] = ProcessRule(
            code, row["description"].strip(), row["source"].strip(), requires,
            _spellings(row["excluded"]), _spellings(row["vague"]),
        )
    return rules


@cache
def process_rules() -> dict[str, ProcessRule]:
    """The shipped process rules by code."""
    data = resources.files("pipeline.origin").joinpath("data/process_rules.csv")
    return read_process_rules(data.read_text("utf-8"))


def _contains(process: str, spellings: Iterable[str]) -> bool:
    """True when one spelling's words appear, in order and together, in ``process``."""
    words = process.split()
    for spelling in spellings:
        wanted = spelling.split()
        n = len(wanted)
        if any(words[i:i + n] == wanted for i in range(len(words) - n + 1)):
            return True
    return False


@dataclass(frozen=True)
class ProcessReading:
    """The answer for one rule: ``met`` True, False, or None when the data cannot decide."""

    rule: ProcessRule
    met: bool | None
    reason: str


def read_processes(rule: ProcessRule, processes: Sequence[str]) -> ProcessReading:
    """Whether the declared ``processes`` satisfy ``rule``, and why."""
    what = f"{rule.code} ({rule.description}; {rule.source})"
    declared = [(p, normalise_process(p)) for p in processes]
    for alternative in rule.requires:
        found = []
        for step in alternative:
            hit = next((p for p, n in declared if _contains(n, step)), None)
            if hit is None:
                break
            found.append(hit)
        else:
            shown = ", ".join(repr(p) for p in found)
            return ProcessReading(rule, True, f"{rule.code} met: declared {shown}, {what}")
    if not declared:
        return ProcessReading(
            rule, None, f"{rule.code} undecided: no processes are declared, and {what} needs "
            "to know what was done"
        )
    excluded = [p for p, n in declared if _contains(n, rule.excluded)]
    vague = [p for p, n in declared if _contains(n, rule.vague) and p not in excluded]
    if vague:
        shown = ", ".join(repr(p) for p in vague)
        return ProcessReading(
            rule, None, f"{rule.code} undecided: {shown} does not say whether the process "
            f"required was carried out: {what}"
        )
    listed = ", ".join(repr(p) for p, _ in declared)
    text = f"{rule.code} not met: none of the declared processes ({listed}) is {what}"
    if excluded:
        text += "; " + ", ".join(repr(p) for p in excluded) + " is expressly not it"
    return ProcessReading(rule, False, text)
