"""Minimal operations and processes, which confer no origin (RCEP Art. 3.6; ACFTA Rule 7).

Both texts apply "notwithstanding" the criteria: a good made from non-originating
materials that underwent only minimal operations (or a combination of them, RCEP
Art. 3.6(k)) is not originating, whether it meets a change in tariff classification,
the RVC or a process rule. The vocabulary is data
(``data/minimal_operations.csv``): each operation the articles list, where each
agreement lists it, whether it is minimal only when "simple", and how exporters write
it. Matching is lenient: case, plural endings, hyphens ("re-packing", "repacking"),
filler words ("of", "the", "goods") and the listed synonyms.

``check_operations`` says which declared process matched which operation, and when the
process list does not decide (nothing declared, or only words such as "cutting" that
are minimal only when simple).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from pipeline.application.agreement import Agreement

_FILLER = frozenset({
    "the", "a", "an", "of", "and", "or", "for", "to", "in", "into", "on", "with", "its",
    "their", "good", "product", "item", "article",
})
_SIMPLE = frozenset({"simple", "simply", "mere", "merely", "only"})


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    """Lower-case singular words, hyphens joined ("re-packing" -> "repacking"), filler dropped."""
    joined = re.sub(r"(?<=\w)-(?=\w)", "", text.lower())
    words = re.findall(r"[a-z0-9]+", joined)
    singular = (_singular(w) for w in words)
    return [w for w in singular if w not in _FILLER]


def normalise_process(name: str) -> str:
    """The comparable form of a process name: ``Re-Packing of goods`` -> ``repacking``."""
    return " ".join(_words(name))


@dataclass(frozen=True)
class MinimalOperation:
    """One operation of the articles' lists; ``citations`` by agreement."""

    operation: str
    citations: Mapping[Agreement, str]
    simple_only: bool
    words: frozenset[str]

    def citation(self, agreement: Agreement) -> str:
        """Where ``agreement`` lists it."""
        return self.citations.get(agreement, "")


def read_vocabulary(
    text: str, name: str = "minimal_operations.csv"
) -> tuple[MinimalOperation, ...]:
    """Operations from CSV text (``operation,rcep,acfta,simple,words``); ``#`` lines skipped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    operations = []
    for row in csv.DictReader(io.StringIO("\n".join(lines))):
        citations = {
            agreement: row[agreement.value.lower()].strip()
            for agreement in Agreement
            if row.get(agreement.value.lower(), "").strip()
        }
        words = frozenset(normalise_process(w) for w in row["words"].split("|") if w.strip())
        if not words:
            raise ValueError(f"{name}: operation {row['operation']!r} lists no words")
        operations.append(MinimalOperation(
            row["operation"].strip(), citations, row["simple"].strip().lower() == "yes", words
        ))
    return tuple(operations)


@cache
def minimal_operations() -> tuple[MinimalOperation, ...]:
    """The shipped vocabulary."""
    data = resources.files("pipeline.origin").joinpath("data/minimal_operations.csv")
    return read_vocabulary(data.read_text("utf-8"))


class OperationsVerdict(StrEnum):
    """What the declared processes say about RCEP Art. 3.6 / ACFTA Rule 7."""

    MINIMAL = "only minimal operations"
    SUBSTANTIAL = "not only minimal operations"
    UNDECIDED = "the process list does not decide"


@dataclass(frozen=True)
class ProcessMatch:
    """A declared process and the listed operation it was read as."""

    process: str
    operation: MinimalOperation
    simple: bool


@dataclass(frozen=True)
class OperationsCheck:
    """The declared processes read against the minimal operations of one agreement."""

    agreement: Agreement
    verdict: OperationsVerdict
    minimal: tuple[ProcessMatch, ...] = ()
    unclear: tuple[ProcessMatch, ...] = ()
    other: tuple[str, ...] = ()

    @property
    def denies_origin(self) -> bool:
        """True when every declared process is a minimal operation."""
        return self.verdict is OperationsVerdict.MINIMAL

    @property
    def rule(self) -> str:
        """The article, as the reasons cite it."""
        return "RCEP Art. 3.6" if self.agreement is Agreement.RCEP else "ACFTA Rule 7"

    def _listed(self, matches: Iterable[ProcessMatch]) -> str:
        return "; ".join(
            f"{m.process!r} is {m.operation.operation} ({m.operation.citation(self.agreement)})"
            for m in matches
        )

    @property
    def reason(self) -> str:
        """Which words of the process list triggered the bar, or why it does not decide."""
        if self.verdict is OperationsVerdict.MINIMAL:
            return (
                f"minimal operations only ({self.rule}): {self._listed(self.minimal)}; they "
                "confer no origin whatever the criterion"
            )
        if self.verdict is OperationsVerdict.SUBSTANTIAL:
            others = ", ".join(repr(p) for p in self.other)
            text = f"minimal operations ({self.rule}) do not bar origin: {others} "
            text += "is not" if len(self.other) == 1 else "are not"
            text += " among the minimal operations"
            if self.minimal or self.unclear:
                text += f" (besides: {self._listed((*self.minimal, *self.unclear))})"
            return text
        if not self.minimal and not self.unclear:
            return (
                f"minimal operations ({self.rule}) not checked: no processes are declared, so "
                "the process list does not decide; the issuing authority should ask what was done"
            )
        unclear = ", ".join(repr(m.process) for m in self.unclear)
        return (
            f"minimal operations ({self.rule}): the process list does not decide: {unclear} "
            "counts as minimal only when simple, and the list does not say so; taken as more "
            f"than minimal ({self._listed((*self.minimal, *self.unclear))})"
        )


def _match(
    process: str, agreement: Agreement, vocabulary: Iterable[MinimalOperation]
) -> ProcessMatch | None:
    words = _words(process)
    simple = bool(words) and words[0] in _SIMPLE
    phrase = " ".join(w for w in words if w not in _SIMPLE)
    for operation in vocabulary:
        if operation.citation(agreement) and phrase in operation.words:
            return ProcessMatch(process, operation, simple)
    return None


def check_operations(
    processes: Iterable[str],
    agreement: Agreement,
    vocabulary: tuple[MinimalOperation, ...] | None = None,
) -> OperationsCheck:
    """Read the declared processes against the agreement's minimal operations."""
    known = minimal_operations() if vocabulary is None else vocabulary
    minimal: list[ProcessMatch] = []
    unclear: list[ProcessMatch] = []
    other: list[str] = []
    for process in processes:
        found = _match(process, agreement, known)
        if found is None:
            other.append(process)
        elif found.operation.simple_only and not found.simple:
            unclear.append(found)
        else:
            minimal.append(found)
    if other:
        verdict = OperationsVerdict.SUBSTANTIAL
    elif unclear or not minimal:
        verdict = OperationsVerdict.UNDECIDED
    else:
        verdict = OperationsVerdict.MINIMAL
    return OperationsCheck(agreement, verdict, tuple(minimal), tuple(unclear), tuple(other))
