"""The state machine of one certificate, from application to the importing customs' answer.

The states and transitions are those of ARCHITECTURE.md. Events about one application
come from several topics, so they may reach the status stage out of order: an event
whose state lies *ahead* on a legal path is applied (the skipped events arrive later),
one whose state lies *behind* the current state is recorded in the history without
moving the state, and anything else is an illegal transition.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from typing import Any

from pipeline.errors import IllegalTransition

CUSTOMS_RESPONDED = "eco.customs.responded.v1"


class State(enum.StrEnum):
    SUBMITTED = "SUBMITTED"
    VERIFIED = "VERIFIED"
    NOT_QUALIFIED = "NOT_QUALIFIED"
    INCOMPLETE = "INCOMPLETE"
    DOCUMENTS_REQUESTED = "DOCUMENTS_REQUESTED"
    ISSUED = "ISSUED"
    ISSUANCE_REFUSED = "ISSUANCE_REFUSED"
    TRANSMITTED = "TRANSMITTED"
    TRANSMISSION_FAILED = "TRANSMISSION_FAILED"
    FALLBACK_MANUAL = "FALLBACK_MANUAL"
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    CLARIFIED = "CLARIFIED"
    REJECTED_FINAL = "REJECTED_FINAL"
    VERIFICATION_REQUESTED = "VERIFICATION_REQUESTED"
    VERIFICATION_REPLIED = "VERIFICATION_REPLIED"
    SUPERSEDED = "SUPERSEDED"
    REVOKED = "REVOKED"
    EXPIRED = "EXPIRED"


S = State
TRANSITIONS: Mapping[State, frozenset[State]] = {
    S.SUBMITTED: frozenset({S.VERIFIED, S.NOT_QUALIFIED, S.INCOMPLETE, S.DOCUMENTS_REQUESTED}),
    # The exporter resubmits a corrected application under the same id.
    S.INCOMPLETE: frozenset({S.SUBMITTED}),
    S.NOT_QUALIFIED: frozenset({S.SUBMITTED}),
    S.DOCUMENTS_REQUESTED: frozenset({S.SUBMITTED, S.VERIFIED, S.NOT_QUALIFIED, S.INCOMPLETE}),
    S.VERIFIED: frozenset({S.ISSUED, S.ISSUANCE_REFUSED}),
    S.ISSUED: frozenset(
        {S.TRANSMITTED, S.TRANSMISSION_FAILED, S.FALLBACK_MANUAL, S.SUPERSEDED, S.REVOKED,
         S.EXPIRED}
    ),
    S.TRANSMISSION_FAILED: frozenset({S.FALLBACK_MANUAL, S.TRANSMITTED}),
    S.FALLBACK_MANUAL: frozenset({S.TRANSMITTED, S.SUPERSEDED, S.REVOKED, S.EXPIRED}),
    S.TRANSMITTED: frozenset(
        {S.ACCEPTED, S.REJECTED, S.VERIFICATION_REQUESTED, S.TRANSMISSION_FAILED, S.SUPERSEDED,
         S.REVOKED, S.EXPIRED}
    ),
    S.REJECTED: frozenset({S.CLARIFIED, S.SUPERSEDED, S.REVOKED}),
    S.CLARIFIED: frozenset({S.ACCEPTED, S.REJECTED_FINAL}),
    S.VERIFICATION_REQUESTED: frozenset({S.VERIFICATION_REPLIED}),
    S.VERIFICATION_REPLIED: frozenset({S.ACCEPTED, S.REJECTED, S.REJECTED_FINAL}),
    S.ACCEPTED: frozenset({S.VERIFICATION_REQUESTED, S.SUPERSEDED, S.REVOKED}),
    S.REJECTED_FINAL: frozenset(),
    # A corrected version or a certified true copy replaces the certificate (Rule 10): the
    # application carries on with the new version, which `advance` allows explicitly (an
    # edge back to ISSUED here would make every state reachable from every other).
    S.SUPERSEDED: frozenset(),
    S.REVOKED: frozenset(),
    S.EXPIRED: frozenset(),
    # Qualified, but the issuing authority refused to issue (eco.certificate.refused.v1): a
    # back-to-back overdraw, an original no longer valid, the applicant's serials used up.
    # Final: the exporter applies again under a new id.
    S.ISSUANCE_REFUSED: frozenset(),
}

#: States in which an application stays until someone acts; the journey is over for now.
SETTLED: frozenset[State] = frozenset(
    {S.NOT_QUALIFIED, S.INCOMPLETE, S.DOCUMENTS_REQUESTED, S.ACCEPTED, S.REJECTED_FINAL,
     S.FALLBACK_MANUAL, S.SUPERSEDED, S.REVOKED, S.EXPIRED, S.TRANSMISSION_FAILED,
     S.ISSUANCE_REFUSED}
)


@cache
def reachable(start: State, goal: State) -> bool:
    """True when ``goal`` can follow ``start`` through one or more legal transitions."""
    seen: set[State] = set()
    frontier = [start]
    while frontier:
        state = frontier.pop()
        for nxt in TRANSITIONS[state]:
            if nxt == goal:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False


@dataclass(frozen=True)
class HistoryEntry:
    """One event in the life of a certificate, as the status stage saw it."""

    event_id: str
    event_type: str
    at: datetime
    state: State | None
    detail: str = ""


@dataclass(frozen=True)
class CertificateStatus:
    """Current state and history of one application and its certificate."""

    application_id: str
    state: State
    history: tuple[HistoryEntry, ...] = ()
    certificate_number: str | None = None
    importing_country: str | None = None
    alerts: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    version: int | None = None

    def seen(self, event_id: str) -> bool:
        return any(entry.event_id == event_id for entry in self.history)

    def to_json(self) -> dict[str, Any]:
        return {
            "application_id": self.application_id,
            "state": self.state.value,
            "certificate_number": self.certificate_number,
            "version": self.version,
            "importing_country": self.importing_country,
            "alerts": list(self.alerts),
            "reasons": list(self.reasons),
            "extra": dict(self.extra),
            "history": [
                {
                    "event_id": h.event_id,
                    "event_type": h.event_type,
                    "at": h.at.isoformat(),
                    "state": h.state.value if h.state else None,
                    "detail": h.detail,
                }
                for h in self.history
            ],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CertificateStatus:
        return cls(
            application_id=data["application_id"],
            state=State(data["state"]),
            certificate_number=data.get("certificate_number"),
            version=data.get("version"),
            importing_country=data.get("importing_country"),
            alerts=tuple(data.get("alerts", ())),
            reasons=tuple(data.get("reasons", ())),
            extra=dict(data.get("extra", {})),
            history=tuple(
                HistoryEntry(
                    event_id=h["event_id"],
                    event_type=h["event_type"],
                    at=datetime.fromisoformat(h["at"]),
                    state=State(h["state"]) if h.get("state") else None,
                    detail=h.get("detail", ""),
                )
                for h in data.get("history", ())
            ),
        )


@dataclass(frozen=True)
class Observation:
    """What one event says about a certificate: the state it implies (if any) and facts."""

    event_id: str
    event_type: str
    at: datetime
    state: State | None
    detail: str = ""
    certificate_number: str | None = None
    importing_country: str | None = None
    alert: str | None = None
    reasons: tuple[str, ...] = ()
    version: int | None = None


def _new_version(current: CertificateStatus, obs: Observation) -> bool:
    """A new version issued after the certificate was superseded (Form E Rule 10)."""
    return (obs.state is S.ISSUED and current.state is S.SUPERSEDED
            and obs.version is not None and (current.version or 0) < obs.version)


def advance(current: CertificateStatus | None, application_id: str, obs: Observation
            ) -> CertificateStatus:
    """Apply one observation; an already seen event id leaves the status unchanged.

    Raises IllegalTransition when the implied state can neither follow nor precede
    the current one.
    """
    if current is None:
        # A later event may reach us before the application itself: accept it if a
        # legal path leads there from SUBMITTED.
        if obs.state not in (S.SUBMITTED, None) and not reachable(S.SUBMITTED, obs.state):
            raise IllegalTransition(f"{obs.event_type} cannot open the history")
        current = CertificateStatus(application_id=application_id, state=obs.state or S.SUBMITTED)
        return _record(current, obs, move=True)
    if current.seen(obs.event_id):
        return current
    if current.state is S.CLARIFIED and obs.state is S.REJECTED:
        # Form E Rule 8(f): customs that still refuse after the clarification decide for good.
        obs = replace(obs, state=S.REJECTED_FINAL)
    if obs.state is None or obs.state == current.state:
        return _record(current, obs, move=False)
    if _new_version(current, obs):
        return _record(current, obs, move=True)
    last_move = max((h.at for h in current.history if h.state is not None), default=None)
    if last_move is not None and obs.at < last_move and (
        reachable(obs.state, current.state) or obs.state in TRANSITIONS[current.state]
    ) and not _answers_delivery(current, obs):
        return _record(current, obs, move=False)  # older than the current state: history only
    if obs.state in TRANSITIONS[current.state] or reachable(current.state, obs.state):
        return _record(current, obs, move=True)
    if reachable(obs.state, current.state):
        return _record(current, obs, move=False)  # a late event: history only
    raise IllegalTransition(
        f"{application_id}: {current.state.value} -> {obs.state.value} ({obs.event_type})"
    )


def _answers_delivery(current: CertificateStatus, obs: Observation) -> bool:
    """A customs decision on the version delivered: it follows the delivery whatever its time,
    since a delivery replayed after a crash is stamped after the decision it caused."""
    return (current.state is S.TRANSMITTED and obs.event_type == CUSTOMS_RESPONDED
            and (obs.version is None or current.version is None
                 or obs.version == current.version))


def _record(status: CertificateStatus, obs: Observation, *, move: bool) -> CertificateStatus:
    entry = HistoryEntry(obs.event_id, obs.event_type, obs.at, obs.state, obs.detail)
    history = tuple(sorted((*status.history, entry), key=lambda h: h.at))
    changes: dict[str, Any] = {"history": history}
    if move and obs.state is not None:
        changes["state"] = obs.state
        if obs.state is S.SUBMITTED:
            changes["reasons"] = ()
    if obs.reasons and move:
        changes["reasons"] = obs.reasons
    if obs.certificate_number and (move or status.certificate_number is None):
        changes["certificate_number"] = obs.certificate_number
    if obs.version is not None and move and obs.state is S.ISSUED:
        changes["version"] = obs.version
    if obs.importing_country:
        changes["importing_country"] = obs.importing_country
    if obs.alert and obs.alert not in status.alerts:
        changes["alerts"] = (*status.alerts, obs.alert)
    return replace(status, **changes)
