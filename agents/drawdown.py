"""Back-to-back draw-down: each back-to-back certificate draws the original's quantities
before it is numbered (RCEP Art. 3.19.1(d); Form E movement certificate). The rule is
``pipeline.origin.backtoback``; this module only wires it.

The issuance router sends a qualified back-to-back application to ``eco.drawdown-requests``
keyed by the original certificate's number, so that every draw on one original meets its
balance in one Kafka-backed table (``drawdown-balance``). The first draw opens the balance
from the original's signed XML (issued here: the document store; or supplied in the
application), verified against the trust registry, else from the application's
declaration, marked as such. An accepted draw is recorded durably, then the request goes on
to ``eco.issuance-requests``; an overdraw is refused with the figures (dead-lettered with
the reason, the balance unchanged). A replayed draw is forwarded again, not drawn twice.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import faust

from agents.frame import Batch, Stage, json_table, run_stage
from pipeline.application import Application, parse_application
from pipeline.certificate.trustview import TrustView
from pipeline.errors import BusinessRejection
from pipeline.events import Envelope
from pipeline.origin.backtoback import (
    Balance,
    OriginalCertificate,
    OriginalSource,
    draw_down,
    drawdown_request,
    original_from_application,
)
from pipeline.origin.originals import original_from_xml
from pipeline.settings import Settings
from pipeline.stages import Emit, Note, Transition
from pipeline.stages.issuance import (
    DRAWDOWN_TOPIC,
    REQUESTS_TOPIC,
    is_back_to_back,
    original_number,
    sequence_of,
)

BALANCES = "drawdown-balance"
__all__ = ["DRAWDOWN_TOPIC", "install", "is_back_to_back", "issued_here", "original_number"]


def issued_here(store: Path, number: str) -> bytes | None:
    """The latest version of ``number`` in the document store, if it was issued here."""
    versions = sorted(store.glob(f"{number}-v*.xml"),
                      key=lambda p: int(p.stem.rsplit("-v", 1)[1]))
    return versions[-1].read_bytes() if versions else None


def install(app: faust.App, settings: Settings, store: Path, trust: TrustView) -> None:
    tables = {BALANCES: json_table(app, settings, BALANCES, dict)}

    def original(application: Application, number: str) -> OriginalCertificate:
        xml = issued_here(store, number)
        if xml is not None:
            return original_from_xml(xml, trust.current(), OriginalSource.ISSUED_HERE)
        supplied = application.back_to_back.original_xml if application.back_to_back else None
        if supplied:
            return original_from_xml(supplied.encode(), trust.current(), OriginalSource.SUPPLIED)
        return original_from_application(application)

    def load(envelope: Envelope, batch: Batch) -> Any:
        document = json.loads(envelope.data["document"])
        return batch.get(BALANCES, original_number(document))

    def draw(held: Any, envelope: Envelope, now: datetime) -> Transition[Any]:
        document = json.loads(envelope.data["document"])
        application = parse_application(document, source=envelope.subject)
        number = original_number(document)
        balance = Balance.from_json(held) if held else Balance.opening(
            original(application, number))
        result = draw_down(balance, drawdown_request(application, envelope.subject, balance))
        if not result.accepted:
            raise BusinessRejection(f"{envelope.subject}: {result.reason}")
        state = held if result.replay else result.balance.to_json()
        return Transition(state, outputs=(
            Emit(envelope, topic=REQUESTS_TOPIC, key=sequence_of(document, envelope.subject)),),
            notes=(Note("drawn_down", fields={
                "original_certificate": number, "source": str(result.balance.source),
                "replay": result.replay, "balance": result.reason}),))

    def save(envelope: Envelope, state: Any, batch: Batch) -> None:
        number = original_number(json.loads(envelope.data["document"]))
        if state and state != batch.get(BALANCES, number):
            batch.put(BALANCES, number, state)

    # The draw is durable before the request goes on to be numbered.
    run_stage(app, settings, Stage("drawdown", [DRAWDOWN_TOPIC], tables, load, draw, save,
                                   durable=(BALANCES,), keyed_by_subject=False))
