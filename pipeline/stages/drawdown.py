"""The draw-down stage's decisions, keyed by the original certificate's number.

Two kinds of events reach it on ``eco.drawdown-requests``:

* a qualified back-to-back application (``eco.verification.completed.v1``), forwarded by the
  issuance router: it draws on the original's balance item by item and goes on to be
  numbered, or is refused with ``eco.certificate.refused.v1`` (the balance unchanged);
* the revocation or supersession of a certificate issued here (``eco.certificate.revoked.v1``,
  ``eco.certificate.superseded.v1``), forwarded from ``eco.issuance``: the original's standing;
* ``eco.drawdown.adjusted.v1``, this stage to itself: the draws made on a superseded version
  carried over to the current one (CARRY_OVER), or the draw of a revoked back-to-back
  certificate given back (GIVE_BACK).

RCEP Art. 3.19.1(a) allows a back-to-back proof of origin only on "a valid original Proof of
Origin"; an ACFTA movement certificate (Form E Rule 1, Box 13) is issued on the original
Form E. A revoked original is not a valid proof: every later
draw on it is refused. A version superseded by a corrected version with another number
(Form E Rule 10) is no longer valid either: a draw citing it is refused and told the current
number to cite (the exporter's back-to-back certificate must show the valid original's
number and date, RCEP Art. 3.19.1(e)). The draws made on the superseded version are carried
over to the current one, so that together the shipments still do not exceed the original
(Art. 3.19.1(d)). A certified true copy keeps the number: the original stays valid and
nothing changes. A back-to-back certificate revoked later gives its draw back.

The notices stage (``notices``) reads ``eco.issuance`` keyed by application id: it remembers
which original each back-to-back certificate issued here drew on (from its signed XML,
``BackToBack/OriginalCertificate``), so that its revocation can give the draw back.

Opening the balance reads the original's data (``opening``: the document store, a supplied
XML, or the application), passed in by the agent; everything else here is pure.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from pipeline import events
from pipeline.application import Application, parse_application
from pipeline.certificate.safexml import parse_xml
from pipeline.certificate.verification import ECO
from pipeline.errors import EcoError
from pipeline.events import Envelope
from pipeline.origin.backtoback import (
    RULE,
    Balance,
    Draw,
    OriginalCertificate,
    draw_down,
    drawdown_request,
)
from pipeline.stages import Emit, Note, Transition, unchanged
from pipeline.stages.alerts import derived_id
from pipeline.stages.issuance import DRAWDOWN_TOPIC, REQUESTS_TOPIC, original_number, sequence_of
from pipeline.stages.refusal import Cause, refusal

COMPLETED = "eco.verification.completed.v1"
REVOKED = "eco.certificate.revoked.v1"
SUPERSEDED = "eco.certificate.superseded.v1"
ISSUED = "eco.certificate.issued.v1"
ADJUSTED = "eco.drawdown.adjusted.v1"
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
                "(RCEP Art. 3.19.1(a); Form E movement certificate)")
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
    """The stage's state for one original certificate: its balance once drawn on, its
    standing once it is no longer valid, and draws carried over from a version it superseded
    before its balance was opened (``pending``)."""

    balance: Balance | None = None
    standing: Standing | None = None
    pending: tuple[Draw, ...] = ()

    def to_json(self) -> dict[str, Any] | None:
        if self.balance is None and self.standing is None and not self.pending:
            return None
        return {"balance": self.balance.to_json() if self.balance else None,
                "standing": self.standing.to_json() if self.standing else None,
                "pending": [_draw_json(d) for d in self.pending]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Original:
        """Read a stored value; a bare balance (written by earlier versions) too."""
        if not data:
            return cls()
        if "items" in data:
            return cls(Balance.from_json(data))
        balance, standing = data.get("balance"), data.get("standing")
        return cls(Balance.from_json(balance) if balance else None,
                   Standing.from_json(standing) if standing else None,
                   tuple(_draw_of(d) for d in data.get("pending", ())))

    @property
    def draws(self) -> tuple[Draw, ...]:
        """Every draw counted against this original, opened or still pending."""
        return self.balance.draws if self.balance else self.pending


def _draw_json(draw: Draw) -> dict[str, Any]:
    return {"application_id": draw.application_id,
            "quantities": [{"original_item_no": n, "quantity": f"{q.normalize():f}"}
                           for n, q in draw.quantities]}


def _draw_of(data: Mapping[str, Any]) -> Draw:
    return Draw(str(data["application_id"]), tuple(
        (int(q["original_item_no"]), Decimal(str(q["quantity"]))) for q in data["quantities"]))


def drawdown_key(event: Envelope) -> str:
    """The original certificate an event is about: the table key."""
    if event.type in NOTICES:
        return str(event.data["certificate_number"])
    if event.type == ADJUSTED:
        return str(event.data["original_certificate"])
    return original_number(_document(event))


def notices(movement: str, event: Envelope) -> Transition[str]:
    """The notices stage, per application on ``eco.issuance``: remember the original a
    back-to-back certificate issued here drew on (the state), forward a revocation or a
    supersession by another number to the certificate's draw-down key, and give the draw of a
    revoked back-to-back certificate back to its original."""
    if event.type == ISSUED:
        drew_on = original_of(str(event.data.get("document_xml") or ""))
        if not drew_on or drew_on == movement:
            return unchanged(movement)
        return Transition(drew_on)
    number = str(event.data.get("certificate_number") or "")
    if event.type == SUPERSEDED and event.data["superseded_by_number"] != number:
        return Transition(movement, outputs=(Emit(event, topic=DRAWDOWN_TOPIC, key=number),))
    if event.type != REVOKED:
        return unchanged(movement)
    outputs = [Emit(event, topic=DRAWDOWN_TOPIC, key=number)]
    if movement:
        outputs.append(_adjusted(event, "GIVE_BACK", movement, number, ()))
    return Transition(movement, outputs=tuple(outputs))


def original_of(xml: str) -> str | None:
    """The original a certificate's signed XML says it is a back-to-back certificate of."""
    if "OriginalCertificate" not in xml:
        return None
    try:
        root = parse_xml(xml.encode(), source="issued certificate")
    except EcoError:
        return None
    for tick in root.iter(f"{ECO}BackToBack"):
        if tick.get("ticked") == "true":
            number = (tick.findtext(f"{ECO}OriginalCertificate") or "").strip()
            return number or None
    return None


def _adjusted(event: Envelope, action: str, original: str, source: str,
              draws: tuple[Draw, ...]) -> Emit:
    """``eco.drawdown.adjusted.v1`` for ``original``'s key, derived from ``event``."""
    data = {"application_id": event.subject, "action": action,
            "original_certificate": original, "from_certificate": source,
            "draws": [_draw_json(d) for d in draws], "occurred_at": event.time}
    envelope = events.new_envelope(ADJUSTED, data, source=SOURCE, subject=event.subject,
                                   time=event.time, traceparent=event.traceparent,
                                   id=derived_id(event.id, action, original))
    return Emit(envelope, topic=DRAWDOWN_TOPIC, key=original)


def decide(state: Original, event: Envelope, opening: Opening) -> Transition[Original]:
    """Apply one event to an original: record a notice, or draw a back-to-back application
    and forward it to be numbered, or refuse it with the reason and the figures."""
    if event.type in NOTICES:
        return _notice(state, event)
    if event.type == ADJUSTED:
        return _adjust(state, event)
    if event.type != COMPLETED or event.data.get("verdict") != "QUALIFIED":
        return unchanged(state)
    document = _document(event)
    number = original_number(document)
    application = parse_application(document, source=event.subject)
    if state.standing is not None and not _drew(state.balance, event.subject):
        cause, reason = state.standing.refusal(number)
        emit, note = refusal(event, cause, (reason,), source=SOURCE, original=number)
        return Transition(state, outputs=(emit,), notes=(note,))
    balance = state.balance or Balance.opening(opening(application, number)).carry(
        state.pending)
    state = replace(state, pending=())
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
    outputs: tuple[Emit, ...] = ()
    if standing.superseded_by and state.draws:
        outputs = (_adjusted(event, "CARRY_OVER", standing.superseded_by, number,
                             state.draws),)
    if standing == state.standing:
        return Transition(state, outputs=outputs)  # a replay carries the same draws again
    return Transition(replace(state, standing=standing), outputs=outputs, notes=(Note(
        "original_no_longer_valid", fields={"original_certificate": number,
                                            "state": standing.state,
                                            "superseded_by": standing.superseded_by,
                                            "rule": RULE}),))


def _adjust(state: Original, event: Envelope) -> Transition[Original]:
    """Carry the draws of a superseded version over, or give a revoked draw back."""
    data = event.data
    if data["action"] == "CARRY_OVER":
        carried = tuple(_draw_of(d) for d in data["draws"])
        if state.balance is not None:
            new = replace(state, balance=state.balance.carry(carried))
        else:
            known = {d.application_id for d in state.pending}
            new = replace(state, pending=(*state.pending, *(
                d for d in carried if d.application_id not in known)))
        note = "draws_carried_over"
    elif data["action"] == "GIVE_BACK" and state.balance is not None:
        new = replace(state, balance=state.balance.give_back(event.subject))
        note = "draw_given_back"
    else:
        return unchanged(state)
    if new == state:
        return unchanged(state)
    return Transition(new, notes=(Note(note, fields={
        "original_certificate": data["original_certificate"],
        "from_certificate": data["from_certificate"]}),))


def _drew(balance: Balance | None, application_id: str) -> bool:
    """A replay of a draw made while the original was still valid goes on as before."""
    return balance is not None and any(d.application_id == application_id
                                       for d in balance.draws)


def _document(event: Envelope) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(event.data["document"])
    return document
