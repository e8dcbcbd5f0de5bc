"""Product-specific rules of origin (PSR) and the tables they come in.

A rule is a set of alternatives joined by ``or``, each a conjunction of terms
joined by ``and`` (RCEP Annex 3A headnote: satisfying one alternative is
enough). Terms: ``WO`` wholly obtained, ``PE`` produced entirely from
originating materials, ``CC``/``CTH``/``CTSH`` change of chapter, heading or
subheading, optionally ``except from`` a comma-separated list of chapters,
headings or subheadings whose non-originating materials do not count as making
the change (``CC except from Chapter 01``, ``CTH except from 52.04-52.07``),
``RVC<n>`` regional value content of at least n %, and the process rules of
``data/process_rules.csv`` (``CR`` chemical reaction, ``TX-GARMENT``...).

Tables are CSV with the header ``agreement,hs,rule`` and an optional
``source`` column citing where the row comes from; ``hs`` is a chapter,
heading or subheading and the longest matching prefix wins. In a ``RuleBook``
the tables loaded later take precedence over the earlier ones and over the
built-in table: the first table (from the last) that has any row matching an
HS code decides. ACFTA falls back to its general rule ``RVC40 or CTH``; RCEP
has no general rule.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path

from pipeline.application.agreement import Agreement, known_hs_chapter
from pipeline.errors import InvalidRules
from pipeline.origin.processes import process_rules

_RVC = re.compile(r"RVC\s*(\d{1,3}(?:\.\d+)?)")
_HEADER = ("agreement", "hs", "rule")


class TermKind(StrEnum):
    """The kinds of requirement a rule of origin is made of, in the order they are reported."""

    WO = "WO"
    PE = "PE"
    CC = "CC"
    CTH = "CTH"
    CTSH = "CTSH"
    PROCESS = "PROCESS"
    RVC = "RVC"

    @property
    def rank(self) -> int:
        """Disclosure order: WO, then PE, then a change in tariff classification or a process
        rule, then RVC."""
        return {"WO": 0, "PE": 1, "CC": 2, "CTH": 2, "CTSH": 2, "PROCESS": 2, "RVC": 3}[
            self.value
        ]

    @property
    def is_tariff_shift(self) -> bool:
        """True for CC, CTH and CTSH."""
        return self.rank == 2 and self is not TermKind.PROCESS


@dataclass(frozen=True)
class Term:
    """One requirement; ``threshold`` is the minimum RVC percentage for ``RVC`` terms,
    ``process`` the code of a process rule (``CR``, ``TX-GARMENT``, ...) and ``excepted`` the
    HS prefixes (chapters, headings, subheadings, digits only) that a tariff shift's
    non-originating materials may not come from (``CC except from Chapter 01``)."""

    kind: TermKind
    threshold: Decimal | None = None
    process: str | None = None
    excepted: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.process is not None:
            return self.process
        if self.threshold is None:
            if self.excepted:
                return f"{self.kind.value} except from {show_exceptions(self.excepted)}"
            return self.kind.value
        return f"RVC{self.threshold.normalize():f}"

    @property
    def code(self) -> str:
        """The criterion as reported: the kind, or the process rule's code."""
        return self.process or self.kind.value


WO = Term(TermKind.WO)
PE = Term(TermKind.PE)


@dataclass(frozen=True)
class Rule:
    """Alternatives (any one suffices), each a tuple of terms that must all be met."""

    alternatives: tuple[tuple[Term, ...], ...]

    def __str__(self) -> str:
        return " or ".join(" and ".join(str(t) for t in alt) for alt in self.alternatives)

    @property
    def terms(self) -> tuple[Term, ...]:
        """Every distinct term of the rule, in order of appearance."""
        return tuple(dict.fromkeys(t for alt in self.alternatives for t in alt))


def parse_rule(text: str) -> Rule:
    """Parse ``CTH or RVC40``-style text into a ``Rule``; ValueError says what is wrong."""
    alternatives: list[tuple[Term, ...]] = []
    for alternative in re.split(r"\s+or\s+", text.strip(), flags=re.IGNORECASE):
        terms = tuple(
            _parse_term(t) for t in re.split(r"\s+and\s+", alternative.strip(), flags=re.IGNORECASE)
        )
        alternatives.append(terms)
    return Rule(tuple(alternatives))


_EXCEPT = re.compile(r"(CC|CTH|CTSH)\s+EXCEPT\s+FROM\s+(.+)")
_LEVEL_WORDS = {"CHAPTER": 2, "CHAPTERS": 2, "HEADING": 4, "HEADINGS": 4, "SUBHEADING": 6,
                "SUBHEADINGS": 6}


def show_exceptions(excepted: Iterable[str]) -> str:
    """``Chapter 01, 52.04, 8516.90``: the excepted codes as the annexes write them."""
    shown = []
    for code in excepted:
        if len(code) == 2:
            shown.append(f"Chapter {code}")
        elif len(code) == 4:
            shown.append(f"{code[:2]}.{code[2:]}")
        else:
            shown.append(f"{code[:4]}.{code[4:]}")
    return ", ".join(shown)


def parse_exceptions(text: str) -> tuple[str, ...]:
    """The HS prefixes of ``except from Chapter 01, headings 52.04-52.07, 8516.90``: a list
    separated by commas, each a chapter, heading or subheading (dots allowed) or a range of
    them (``52.04-52.07``), optionally after the word chapter(s), heading(s) or
    subheading(s), which must then fit; ValueError says what is wrong."""
    codes: list[str] = []
    for part in re.split(r"\s*[,;]\s*", text.strip()):
        words = part.split()
        level = _LEVEL_WORDS.get(words[0].upper()) if words else None
        body = "".join(words[1:] if level else words).replace(".", "")
        ends = body.split("-")
        if not body or len(ends) > 2 or not all(re.fullmatch(r"\d{2}|\d{4}|\d{6}", e)
                                                for e in ends):
            raise ValueError(f"exception {part!r} is not a chapter, heading or subheading "
                             "(01, 52.04, 8516.90) or a range of them (52.04-52.07)")
        if len({len(e) for e in ends}) != 1 or (level and len(ends[0]) != level):
            raise ValueError(f"exception {part!r} mixes levels (a range or the word before "
                             "it must name one level)")
        first, last = int(ends[0]), int(ends[-1])
        if last < first:
            raise ValueError(f"exception range {part!r} runs backwards")
        if last - first > 999:
            raise ValueError(f"exception range {part!r} is too wide")
        codes += [f"{n:0{len(ends[0])}d}" for n in range(first, last + 1)]
    return tuple(dict.fromkeys(codes))


def _parse_term(text: str) -> Term:
    word = text.strip().upper()
    if not word:
        raise ValueError("empty term (a rule is terms joined by ' or ' and ' and ')")
    excepting = _EXCEPT.fullmatch(word)
    if excepting:
        return Term(TermKind(excepting.group(1)),
                    excepted=parse_exceptions(excepting.group(2)))
    match = _RVC.fullmatch(word)
    if match:
        threshold = Decimal(match.group(1))
        if not 0 < threshold <= 100:
            raise ValueError(f"RVC threshold {threshold} is not between 0 and 100")
        return Term(TermKind.RVC, threshold)
    if word in TermKind.__members__ and word not in ("RVC", "PROCESS"):
        return Term(TermKind(word))
    if word in process_rules():
        return Term(TermKind.PROCESS, process=word)
    processes = ", ".join(process_rules())
    raise ValueError(
        f"unknown term {text.strip()!r} (known: WO, PE, CC, CTH, CTSH, RVC<n>, a tariff shift "
        f"with exceptions such as 'CTH except from 52.04, 52.05', and the process rules "
        f"{processes})"
    )


GENERAL_RULES: Mapping[Agreement, Rule | None] = {
    Agreement.ACFTA: parse_rule("RVC40 or CTH"),
    Agreement.RCEP: None,
}


@dataclass(frozen=True)
class RuleEntry:
    """One row of a table: the rule for an HS prefix, where it was read, and its cited source."""

    agreement: Agreement
    hs: str
    rule: Rule
    location: str
    source: str = ""
    status: str = ""

    @property
    def checked(self) -> bool:
        """True when the row says it was compared with the legal annex (``status`` checked)."""
        return self.status.strip().lower() == "checked"


@dataclass(frozen=True)
class RuleTable:
    """The rows of one CSV table, keyed by agreement and HS prefix."""

    name: str
    entries: Mapping[tuple[Agreement, str], RuleEntry]

    def match(self, agreement: Agreement, hs_code: str) -> RuleEntry | None:
        """The row with the longest HS prefix of ``hs_code`` (subheading, heading, chapter)."""
        for length in (6, 4, 2):
            entry = self.entries.get((agreement, hs_code[:length]))
            if entry is not None:
                return entry
        return None


@dataclass(frozen=True)
class AppliedRule:
    """The rule that governs a good: from a table row, the agreement's general rule, or none."""

    rule: Rule | None
    entry: RuleEntry | None

    @property
    def is_general(self) -> bool:
        """True when the agreement's general rule applies (no table row matched)."""
        return self.entry is None and self.rule is not None


@dataclass(frozen=True)
class RuleBook:
    """Rule tables in order of increasing precedence."""

    tables: tuple[RuleTable, ...] = ()

    @classmethod
    def load(cls, paths: Iterable[Path] = ()) -> RuleBook:
        """The built-in table overlaid by the tables at ``paths``, later ones taking precedence."""
        book = default_rulebook()
        for path in paths:
            book = book.with_table(read_rule_table(path))
        return book

    def with_table(self, table: RuleTable) -> RuleBook:
        """A book in which ``table`` takes precedence over every table already in it."""
        return RuleBook((*self.tables, table))

    def lookup(self, agreement: Agreement, hs_code: str) -> RuleEntry | None:
        """The matching row of the table with the highest precedence that has one."""
        for table in reversed(self.tables):
            entry = table.match(agreement, hs_code)
            if entry is not None:
                return entry
        return None

    def rule_for(self, agreement: Agreement, hs_code: str) -> AppliedRule:
        """The product-specific rule for the good, else the agreement's general rule, else none."""
        entry = self.lookup(agreement, hs_code)
        if entry is not None:
            return AppliedRule(entry.rule, entry)
        return AppliedRule(GENERAL_RULES[agreement], None)


def parse_rule_table(text: str, name: str) -> RuleTable:
    """Read CSV text with the header ``agreement,hs,rule[,source]``; ``InvalidRules`` names
    ``name:line`` for the first bad row. Blank lines and lines starting with ``#`` are skipped."""
    lines = ["" if line.lstrip().startswith("#") else line for line in text.splitlines()]
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header: list[str] | None = None
    entries: dict[tuple[Agreement, str], RuleEntry] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            missing = [c for c in _HEADER if c not in header]
            if missing:
                raise InvalidRules(
                    f"{name}:{line}: the header must name agreement,hs,rule (missing: "
                    f"{', '.join(missing)})"
                )
            continue
        cells = dict(zip(header, (cell.strip() for cell in row), strict=False))
        entry = _entry(cells, f"{name}:{line}")
        key = (entry.agreement, entry.hs)
        if key in entries:
            raise InvalidRules(
                f"{name}:{line}: a second rule for {entry.agreement} {entry.hs} "
                f"(first at {entries[key].location})"
            )
        entries[key] = entry
    if header is None:
        raise InvalidRules(f"{name}: empty table (expected the header agreement,hs,rule)")
    return RuleTable(name, entries)


def _entry(cells: Mapping[str, str], location: str) -> RuleEntry:
    agreement_name = cells.get("agreement", "")
    try:
        agreement = Agreement(agreement_name.upper())
    except ValueError:
        raise InvalidRules(f"{location}: unknown agreement {agreement_name!r}") from None
    hs = cells.get("hs", "").replace(".", "")
    if not hs.isdigit() or len(hs) not in (2, 4, 6) or not known_hs_chapter(hs):
        raise InvalidRules(
            f"{location}: hs must be a known chapter, heading or subheading (2, 4 or 6 digits), "
            f"not {cells.get('hs', '')!r}"
        )
    try:
        rule = parse_rule(cells.get("rule", ""))
    except ValueError as exc:
        raise InvalidRules(f"{location}: {exc}") from None
    return RuleEntry(
        agreement, hs, rule, location, cells.get("source", ""), cells.get("status", "")
    )


def read_rule_table(path: Path) -> RuleTable:
    """Read one rule table file; ``InvalidRules`` when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRules(f"{path}: cannot read the rule table ({exc})") from None
    return parse_rule_table(text, str(path))


@cache
def default_rulebook() -> RuleBook:
    """The rule table shipped with the project (``pipeline/origin/data/psr.csv``)."""
    text = resources.files("pipeline.origin").joinpath("data/psr.csv").read_text("utf-8")
    return RuleBook((parse_rule_table(text, "psr.csv"),))
