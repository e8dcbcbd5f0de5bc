"""End-to-end milestones of a certificate's journey, read from its status history.

The status stage sees every event of an application; when an update adds the first
``issued``, ``delivered`` or ``decided`` event of the journey, the time since the
application's submission is one observation of ``eco_end_to_end_seconds``. Times are the
events' own (``ce_time``), so a replay or a slow stage does not change them, and a milestone
reached again (a new version, a second decision after a clarification) is not counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.metrics import END_TO_END, SnapshotGauge, country_label, register_snapshot
from pipeline.states import CertificateStatus, HistoryEntry, State

SUBMITTED = "eco.application.submitted.v1"
ISSUED = "eco.certificate.issued.v1"
DELIVERED = "eco.transmission.delivered.v1"
RESPONDED = "eco.customs.responded.v1"
DECISIONS = frozenset({State.ACCEPTED, State.REJECTED, State.REJECTED_FINAL,
                       State.VERIFICATION_REQUESTED})


@dataclass(frozen=True)
class Milestone:
    """A milestone reached, with the importing country and the seconds since submission."""

    name: str
    country: str
    seconds: float


def milestone_of(entry: HistoryEntry) -> str | None:
    """``issued``, ``delivered`` or ``decided`` for the history entries that mark one."""
    if entry.event_type == ISSUED:
        return "issued"
    if entry.event_type == DELIVERED:
        return "delivered"
    if entry.event_type == RESPONDED and entry.state in DECISIONS:
        return "decided"
    return None


def reached(before: CertificateStatus | None, after: CertificateStatus) -> list[Milestone]:
    """The milestones ``after`` reaches for the first time in the journey (none when the
    submission itself is not in the history yet: then there is nothing to measure from)."""
    submitted = next((h.at for h in after.history if h.event_type == SUBMITTED), None)
    if submitted is None:
        return []
    old_ids = {h.event_id for h in before.history} if before else set()
    had = {milestone_of(h) for h in before.history} if before else set()
    found: list[Milestone] = []
    for entry in after.history:
        name = milestone_of(entry)
        if name is None or entry.event_id in old_ids or name in had:
            continue
        had.add(name)
        seconds = max((entry.at - submitted).total_seconds(), 0.0)
        found.append(Milestone(name, after.importing_country or "", seconds))
    return found


def record_journey(before: CertificateStatus | None, after: CertificateStatus) -> None:
    """Observe ``eco_end_to_end_seconds`` for each milestone the update reached."""
    for milestone in reached(before, after):
        END_TO_END.labels(milestone.name, country_label(milestone.country)).observe(
            milestone.seconds)


def moved(counts: Mapping[str, Any] | None, before: str | None, after: str
          ) -> dict[str, int]:
    """One partition's certificates per state after an application went from ``before`` (None:
    new) to ``after``; states no certificate is in are left out."""
    out = {state: int(n) for state, n in (counts or {}).items()}
    if before == after:
        return out
    if before is not None and out.get(before, 0) > 0:
        out[before] -= 1
        if not out[before]:
            del out[before]
    out[after] = out.get(after, 0) + 1
    return out


def add_counts(partitions: Iterable[Mapping[str, Any]]) -> dict[tuple[str, ...], float]:
    """Certificates per state over partitions' counts (``moved``), every state present."""
    counts: dict[tuple[str, ...], float] = {(state.value,): 0.0 for state in State}
    for partition in partitions:
        for state, n in (partition or {}).items():
            if (state,) in counts:
                counts[(state,)] += float(n)
    return counts


def watch_certificate_states(partitions: Callable[[], Iterable[Mapping[str, Any]]]) -> None:
    """``eco_certificates{state}``: the certificates of this worker's partitions of the status
    table per state, from each partition's counts (kept as the states change, ``moved``), so a
    scrape reads a dozen small records rather than every status record."""
    register_snapshot(SnapshotGauge(
        "eco_certificates", "Applications and their certificates by current state, on this "
        "worker's partitions of the status table.", ["state"],
        lambda: add_counts(partitions())))
