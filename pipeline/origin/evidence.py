"""Supporting documents the issuing authority calls for before it issues (Form E Rule 4).

The evidence table (CSV ``agreement,hs,criterion,document,reason``) lists, per
agreement, HS prefix and origin criterion, a kind of document the authority
wants to see. When an application would qualify, every row that matches a
qualifying item and whose kind the exporter has not supplied becomes a request:
the application waits in DOCUMENTS_REQUESTED until the documents arrive.
``agreement`` and ``hs`` may be ``*`` (any); ``criterion`` is a criterion
(``WO``, ``CTH``, ``RVC``...), optionally with the RVC method (``RVC/build-up``),
or ``*``. Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pipeline.application import Agreement, Application
from pipeline.errors import InvalidRules
from pipeline.origin.determination import ItemResult, Verdict
from pipeline.origin.examination import Examination

HEADER = ("agreement", "hs", "criterion", "document", "reason")


@dataclass(frozen=True)
class EvidenceRule:
    """One row of the evidence table: which items call for which kind of document, and why."""

    agreement: Agreement | None
    hs: str
    criterion: str | None
    document: str
    reason: str
    source: str = ""

    def applies_to(self, agreement: Agreement, item: ItemResult) -> bool:
        """True when the row covers this qualifying item of an application under ``agreement``."""
        if not item.qualified or item.criterion is None:
            return False
        if self.agreement is not None and self.agreement is not agreement:
            return False
        if not item.hs_code.startswith(self.hs):
            return False
        if self.criterion is None:
            return True
        criterion, _, method = self.criterion.partition("/")
        if criterion != item.criterion.value:
            return False
        return not method or (item.rvc_method is not None and item.rvc_method.value == method)


@dataclass(frozen=True)
class DocumentRequest:
    """A document the exporter is asked for: its kind, the item it backs, and why."""

    kind: str
    item_no: int | None
    reason: str

    def __str__(self) -> str:
        where = f" for item {self.item_no}" if self.item_no is not None else ""
        return f"{self.kind}{where}: {self.reason}"


def parse_evidence_table(text: str, name: str) -> tuple[EvidenceRule, ...]:
    """The rows of an evidence table; InvalidRules names ``name:line`` of the first bad row."""
    lines = ["" if line.lstrip().startswith("#") else line for line in text.splitlines()]
    rows = csv.reader(io.StringIO("\n".join(lines)))
    header: list[str] | None = None
    found: list[EvidenceRule] = []
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        where = f"{name}:{number}"
        if header is None:
            header = [cell.lower() for cell in cells]
            if tuple(header[: len(HEADER)]) != HEADER:
                raise InvalidRules(f"{where}: expected the header {','.join(HEADER)}")
            continue
        if len(cells) < len(HEADER) or not cells[3]:
            raise InvalidRules(f"{where}: expected {','.join(HEADER)}")
        found.append(_row(cells, where))
    if header is None:
        raise InvalidRules(f"{name}: empty table (expected the header {','.join(HEADER)})")
    return tuple(found)


def _row(cells: Sequence[str], where: str) -> EvidenceRule:
    agreement_name, hs, criterion, document, reason = cells[:5]
    agreement = None
    if agreement_name != "*":
        try:
            agreement = Agreement(agreement_name.upper())
        except ValueError:
            raise InvalidRules(f"{where}: unknown agreement {agreement_name!r}") from None
    hs = "" if hs == "*" else hs.replace(".", "")
    if hs and not (hs.isdigit() and len(hs) in (2, 4, 6)):
        raise InvalidRules(f"{where}: hs {cells[1]!r} is not a chapter, heading or subheading")
    return EvidenceRule(
        agreement=agreement,
        hs=hs,
        criterion=None if criterion in ("", "*") else _criterion(criterion),
        document=document.upper(),
        reason=reason,
        source=where,
    )


def _criterion(text: str) -> str:
    """``rvc/Build-Up`` -> ``RVC/build-up``: the criterion as TermKind, the method as RvcMethod."""
    kind, sep, method = text.partition("/")
    return f"{kind.strip().upper()}{sep}{method.strip().lower()}"


def read_evidence_table(path: Path) -> tuple[EvidenceRule, ...]:
    """Read one evidence table file; InvalidRules when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRules(f"{path}: cannot read the evidence table ({exc})") from None
    return parse_evidence_table(text, str(path))


def default_evidence() -> tuple[EvidenceRule, ...]:
    """The evidence table shipped with the project (``pipeline/origin/data/evidence.csv``)."""
    text = resources.files("pipeline.origin").joinpath("data/evidence.csv").read_text("utf-8")
    return parse_evidence_table(text, "evidence.csv")


def supporting_documents(app: Application) -> frozenset[str]:
    """The kinds of document the application itself lists under ``supporting_documents``
    (``[{"kind": "COST_STATEMENT", "reference": "..."}]``); entries without both are ignored."""
    listed = app.document.get("supporting_documents")
    kinds: set[str] = set()
    for entry in listed if isinstance(listed, list) else ():
        if isinstance(entry, Mapping) and _given(entry, "kind") and _given(entry, "reference"):
            kinds.add(str(entry["kind"]).strip().upper())
    return frozenset(kinds)


def _given(entry: Mapping[str, Any], key: str) -> bool:
    value = entry.get(key)
    return isinstance(value, str) and bool(value.strip())


def requested_documents(
    exam: Examination,
    table: Iterable[EvidenceRule],
    supplied: frozenset[str],
    exempt: frozenset[int] = frozenset(),
) -> tuple[DocumentRequest, ...]:
    """What to ask the exporter for (Rule 4): only when the application would qualify, per
    qualifying item not in ``exempt``, each matching row whose kind is not yet supplied."""
    if exam.verdict is not Verdict.QUALIFIED:
        return ()
    rules = list(table)
    found: dict[tuple[str, int | None], DocumentRequest] = {}
    for item in exam.items:
        if item.item_no in exempt:
            continue
        for rule in rules:
            if rule.document in supplied or not rule.applies_to(exam.agreement, item):
                continue
            found.setdefault(
                (rule.document, item.item_no),
                DocumentRequest(rule.document, item.item_no, rule.reason),
            )
    return tuple(found.values())
