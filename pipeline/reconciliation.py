"""Which certificates still await a customs decision, learnt from the topics alone.

The reconciliation poller folds ``eco.transmission`` (a certificate version delivered, or a
clarification sent after a Box 4 rejection: each opens a round that awaits a decision) and
``eco.customs-response`` (a decision closes a round) into a ``Ledger``, then asks the customs
about the rounds open longer than a configured time. Nothing here reads a worker's memory, so
a decision survives an outage of the worker or of the callback receiver: it is asked for again.

Plain data and pure functions: the poller (``connectors.customs.reconcile``) does the I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

DELIVERED = "eco.transmission.delivered.v1"
CLARIFIED = "eco.certificate.clarified.v1"
RESPONDED = "eco.customs.responded.v1"
# The statuses that answer the question "preference given?" (an ACK only says "received").
DECISIONS = frozenset({"PREFERENCE_GIVEN", "PREFERENCE_NOT_GIVEN", "VERIFICATION_REQUESTED"})
# What closes a round: a decision, or a technical rejection (no decision will follow it).
CLOSING = DECISIONS | {"TECH_REJECTED"}


@dataclass(frozen=True)
class CertificateKey:
    """One version of one certificate at one importing customs."""

    country: str
    certificate_number: str
    version: int


@dataclass(frozen=True)
class Awaited:
    """A certificate version and how many decision rounds it opened and saw closed."""

    application_id: str
    key: CertificateKey
    opened: int = 0
    decided: int = 0
    waiting_since: float = 0.0  # when the last round opened (seconds since the epoch)

    @property
    def awaiting(self) -> bool:
        return self.opened > self.decided


@dataclass
class Ledger:
    """Every certificate version seen, and the event ids already folded in (so a redelivered
    event counts once). :func:`fold` updates it in place: a copy per event, made while the
    topics are followed from their start, costs time in the length of the history for every
    event (the receiver spent most of a core on it after 30,000 certificates)."""

    entries: dict[CertificateKey, Awaited] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)


def _moment(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value or 0.0)


def fold(ledger: Ledger, event_id: str, event_type: str, subject: str,
         data: Mapping[str, Any], at: datetime) -> Ledger:
    """The ledger after one event (``ledger`` itself, updated); events of other types, and ids
    already folded, change nothing. ``at`` is the event's time, used when its data carries
    none."""
    if event_id in ledger.seen or event_type not in (DELIVERED, CLARIFIED, RESPONDED):
        return ledger
    if event_type == RESPONDED and data.get("status") not in CLOSING:
        ledger.seen.add(event_id)
        return ledger
    key = CertificateKey(str(data["importing_country"]).upper(),
                         str(data["certificate_number"]), int(data["version"]))
    entry = ledger.entries.get(key) or Awaited(subject, key)
    if event_type == RESPONDED:
        entry = replace(entry, decided=entry.decided + 1)
    else:
        when = _moment(data.get("delivered_at") if event_type == DELIVERED else None) or _moment(at)
        entry = replace(entry, opened=entry.opened + 1,
                        waiting_since=max(entry.waiting_since, when))
    ledger.entries[key] = entry
    ledger.seen.add(event_id)
    return ledger


def fold_all(ledger: Ledger, events: Iterable[tuple[str, str, str, Mapping[str, Any], datetime]]
             ) -> Ledger:
    """``fold`` over ``(id, type, subject, data, time)`` tuples, in order."""
    for event_id, event_type, subject, data, at in events:
        ledger = fold(ledger, event_id, event_type, subject, data, at)
    return ledger


def due(ledger: Ledger, now: float, after: float, asked: Mapping[CertificateKey, float],
        limit: int) -> list[Awaited]:
    """The certificates to ask about now: awaiting a decision for at least ``after`` seconds
    and not asked within the last ``after`` seconds, longest waiting first, at most ``limit``."""
    candidates = [
        entry for entry in ledger.entries.values()
        if entry.awaiting and now - entry.waiting_since >= after
        and now - asked.get(entry.key, float("-inf")) >= after
    ]
    candidates.sort(key=lambda e: (e.waiting_since, e.key.certificate_number, e.key.version))
    return candidates[:max(limit, 0)]
