"""The draw-down stage's decisions, keyed by the original certificate's number.

Two kinds of events reach it on ``eco.drawdown-requests``:

* a qualified back-to-back application (``eco.verification.completed.v1``), forwarded by the
  issuance router: it draws on the original's balance item by item and goes on to be
  numbered, or is refused with ``eco.certificate.refused.v1`` (the balance unchanged);
* the revocation or supersession of a certificate issued here (``eco.certificate.revoked.v1``,
  ``eco.certificate.superseded.v1``), forwarded from ``eco.issuance``: the original's standing.

RCEP Art. 3.19.1(a) allows a back-to-back proof of origin only on "a valid original Proof of
Origin"; the ACFTA Operational Certification Procedures (Rule 12, movement certificate) ask
for the original Form E to be presented. A revoked original is not a valid proof: every later
draw on it is refused. A version superseded by a corrected version with another number
(Form E Rule 10) is no longer valid either: a draw citing it is refused and told the current
number to cite (the exporter's back-to-back certificate must show the valid original's
number and date, RCEP Art. 3.19.1(e)). A certified true copy keeps the number: the original
stays valid and nothing changes.

Opening the balance reads the original's data (``opening``: the document store, a supplied
XML, or the application), passed in by the agent; everything else here is pure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from pipeline.application import Application, parse_application
from pipeline.events import Envelope
from pipeline.origin.backtoback import (
    RULE,
    Balance,
    OriginalCertificate,
    draw_down,
    drawdown_request,
)
from pipeline.stages import Emit, Note, Transition, unchanged
from pipeline.stages.issuance import DRAWDOWN_TOPIC, REQUESTS_TOPIC, original_number, sequence_of
from pipeline.stages.refusal import Cause, refusal

COMPLETED = "eco.verification.completed.v1"
REVOKED = "eco.certificate.revoked.v1"
SUPERSEDED = "eco.certificate.superseded.v1"
NOTICES = (REVOKED, SUPERSEDED)
SOURCE = "eco/drawdown"

Opening = Callable[[Application, str], OriginalCertificate]


@dataclass(frozen=True)
class Standing:
    """An original that is no longer a valid proof of origin: revoked or superseded."""

    state: str  # REVOKED or SUPERSEDED
    version: int
    reason: str = ""
    superseded_by: str | None = None

    def refusal(self, number: str) -> tuple[Cause, str]:
        if self.state == "REVOKED":
            return Cause.ORIGINAL_REVOKED, (
                f"the original certificate {number} (version {self.version}) was revoked"
                + (f" ({self.reason})" if self.reason else "")
                + "; a back-to-back certificate needs a valid original proof of origin "
                "(RCEP Art. 3.19.1(a); ACFTA OCP Rule 12)")
        return Cause.ORIGINAL_SUPERSEDED, (
            f"the original certificate {number} (version {self.version}) was superseded by "
            f"{self.superseded_by}" + (f" ({self.reason})" if self.reason else "")
            + f"; apply against the current version {self.superseded_by}, the valid original "
            "proof of origin (RCEP Art. 3.19.1(a) and (e); Form E Rule 10)")

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "version": self.version, "reason": self.reason,
                "superseded_by": self.superseded_by}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Standing:
        return cls(str(data["state"]), int(data["version"]), str(data.get("reason") or ""),
                   data.get("superseded_by"))


@dataclass(frozen=True)
class Original:
    """The stage's state for one original certificate: its balance once drawn on, and its
    standing once it is no longer valid."""

    balance: Balance | None = None
    standing: Standing | None = None

    def to_json(self) -> dict[str, Any] | None:
        if self.balance is None and self.standing is None:
            return None
        return {"balance": self.balance.to_json() if self.balance else None,
                "standing": self.standing.to_json() if self.standing else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Original:
        """Read a stored value; a bare balance (written by earlier versions) too."""
        if not data:
            return cls()
        if "items" in data:
            return cls(Balance.from_json(data))
        balance, standing = data.get("balance"), data.get("standing")
        return cls(Balance.from_json(balance) if balance else None,
                   Standing.from_json(standing) if standing else None)


def drawdown_key(event: Envelope) -> str:
    """The original certificate an event is about: the table key."""
    if event.type in NOTICES:
        return str(event.data["certificate_number"])
    return original_number(_document(event))


def notice_key(event: Envelope) -> str | None:
    """Where an ``eco.issuance`` event goes on ``eco.drawdown-requests``: the revoked or
    superseded certificate's number; None for events the draw-down does not need."""
    if event.type == REVOKED:
        return str(event.data["certificate_number"])
    if event.type == SUPERSEDED and (
            event.data["superseded_by_number"] != event.data["certificate_number"]):
        return str(event.data["certificate_number"])
    return None


def forward_notice(event: Envelope) -> Transition[None]:
    """The forwarding of a revocation or supersession to the original's draw-down key."""
    key = notice_key(event)
    if key is None:
        return unchanged(None)
    return Transition(None, outputs=(Emit(event, topic=DRAWDOWN_TOPIC, key=key),))


def decide(state: Original, event: Envelope, opening: Opening) -> Transition[Original]:
    """Apply one event to an original: record a notice, or draw a back-to-back application
    and forward it to be numbered, or refuse it with the reason and the figures."""
    if event.type in NOTICES:
        return _notice(state, event)
    if event.type != COMPLETED or event.data.get("verdict") != "QUALIFIED":
        return unchanged(state)
    document = _document(event)
    number = original_number(document)
    application = parse_application(document, source=event.subject)
    if state.standing is not None and not _drew(state.balance, event.subject):
        cause, reason = state.standing.refusal(number)
        emit, note = refusal(event, cause, (reason,), source=SOURCE, original=number)
        return Transition(state, outputs=(emit,), notes=(note,))
    balance = state.balance or Balance.opening(opening(application, number))
    result = draw_down(balance, drawdown_request(application, event.subject, balance))
    if not result.accepted:
        emit, note = refusal(event, Cause.OVERDRAW, result.refusals, source=SOURCE,
                             original=number, overdraws=result.overdraws)
        return Transition(state, outputs=(emit,), notes=(note,))
    new = state if result.replay else replace(state, balance=result.balance)
    return Transition(new, outputs=(
        Emit(event, topic=REQUESTS_TOPIC, key=sequence_of(document, event.subject)),),
        notes=(Note("drawn_down", fields={
            "original_certificate": number, "source": str(result.balance.source),
            "replay": result.replay, "balance": result.reason}),))


def _notice(state: Original, event: Envelope) -> Transition[Original]:
    data = event.data
    number, version = str(data["certificate_number"]), int(data["version"])
    if state.standing is not None and state.standing.state == "REVOKED":
        return unchanged(state)
    if event.type == REVOKED:
        standing = Standing("REVOKED", version, str(data.get("reason") or ""))
    elif data["superseded_by_number"] == number:
        return unchanged(state)  # a certified true copy: the original stays valid
    else:
        standing = Standing("SUPERSEDED", version, str(data.get("reason") or ""),
                            str(data["superseded_by_number"]))
    if standing == state.standing:
        return unchanged(state)
    return Transition(replace(state, standing=standing), notes=(Note(
        "original_no_longer_valid", fields={"original_certificate": number,
                                            "state": standing.state,
                                            "superseded_by": standing.superseded_by,
                                            "rule": RULE}),))


def _drew(balance: Balance | None, application_id: str) -> bool:
    """A replay of a draw made while the original was still valid goes on as before."""
    return balance is not None and any(d.application_id == application_id
                                       for d in balance.draws)


def _document(event: Envelope) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(event.data["document"])
    return document
