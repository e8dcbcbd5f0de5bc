"""Back-to-back draw-down: each back-to-back certificate draws the original's quantities
before it is numbered (RCEP Art. 3.19.1(d); Form E movement certificate). The rule is
``pipeline.origin.backtoback``; this module only wires it.

The issuance router sends a qualified back-to-back application to ``eco.drawdown-requests``
keyed by the original certificate's number, so that every draw on one original meets its
balance in one Kafka-backed table (``drawdown-balance``). The first draw opens the balance
from the original's signed XML (issued here: the document store; or supplied in the
application), verified against the trust registry, else from the application's
declaration, marked as such. An accepted draw is recorded, then the request goes on to
``eco.issuance-requests``; an overdraw is refused with the figures (dead-lettered with
the reason, the balance unchanged). A replayed draw is forwarded again, not drawn twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import faust

from agents.frame import StageContext, install_stage, json_table
from pipeline import events
from pipeline.application import Application, parse_application
from pipeline.certificate.numbering import sequence_key
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

DRAWDOWN_TOPIC = "eco.drawdown-requests"


def is_back_to_back(document: dict[str, Any]) -> bool:
    """True for an application for a back-to-back (movement) certificate."""
    block = document.get("back_to_back")
    return isinstance(block, dict) and bool(block.get("original_certificate"))


def original_number(document: dict[str, Any]) -> str:
    """The key of the draw-down: the original certificate's number."""
    return str(document["back_to_back"]["original_certificate"])


def issued_here(store: Path, number: str) -> bytes | None:
    """The latest version of ``number`` in the document store, if it was issued here."""
    versions = sorted(store.glob(f"{number}-v*.xml"),
                      key=lambda p: int(p.stem.rsplit("-v", 1)[1]))
    return versions[-1].read_bytes() if versions else None


def install(app: faust.App, settings: Settings, store: Path, trust: TrustView,
            requests_topic: str) -> None:
    balances = json_table(app, settings, "drawdown-balance", dict)

    def original(application: Application, number: str) -> OriginalCertificate:
        xml = issued_here(store, number)
        if xml is not None:
            return original_from_xml(xml, trust.current(), OriginalSource.ISSUED_HERE)
        supplied = application.back_to_back.original_xml if application.back_to_back else None
        if supplied:
            return original_from_xml(supplied.encode(), trust.current(), OriginalSource.SUPPLIED)
        return original_from_application(application)

    async def draw(envelope: Envelope, ctx: StageContext) -> None:
        document = json.loads(envelope.data["document"])
        application = parse_application(document, source=envelope.subject)
        number = original_number(document)
        held = balances[number]
        balance = Balance.from_json(held) if held else Balance.opening(
            original(application, number))
        result = draw_down(balance, drawdown_request(application, envelope.subject, balance))
        if not result.accepted:
            raise BusinessRejection(f"{envelope.subject}: {result.reason}")
        if not result.replay:
            balances[number] = result.balance.to_json()
            await app.producer.flush()  # the draw is durable before the certificate exists
        _, value, headers = events.to_record(envelope)
        await ctx.send(requests_topic, sequence_key(document).encode(), value, headers)
        ctx.log.info("drawn_down", original_certificate=number, source=result.balance.source,
                     replay=result.replay, balance=result.reason)

    install_stage(app, settings, "drawdown", [DRAWDOWN_TOPIC], draw, keyed_by_subject=False)
