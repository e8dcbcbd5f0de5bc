"""Back-to-back draw-down: each back-to-back certificate draws the original's quantities
before it is numbered (RCEP Art. 3.19.1(d); Form E movement certificate). The rule is
``pipeline.origin.backtoback``; this module only wires it.

The issuance router sends a qualified back-to-back application to ``eco.drawdown-requests``
keyed by the original certificate's number, so that every draw on one original meets its
balance in one Kafka-backed table (``drawdown-balance``). The first draw opens the balance
from the original's signed XML (issued here: the document store; or supplied in the
application), verified against the trust registry, else from the application's
declaration, marked as such. An accepted draw is recorded durably, then the request goes on
to ``eco.issuance-requests``; an overdraw is refused with the figures
(``eco.certificate.refused.v1``, the balance unchanged). A replayed draw is forwarded again,
not drawn twice. A second stage forwards the revocations and supersessions of
``eco.issuance`` to the original's key, so that a draw on an original that is no longer
valid is refused, the draws on a superseded version are carried over to the current one, and
a back-to-back certificate revoked later gives its draw back (``pipeline.stages.drawdown``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import faust

from agents.frame import Batch, Stage, json_table, keyed, run_stage
from pipeline.application import Application
from pipeline.certificate.trustview import TrustView
from pipeline.events import Envelope
from pipeline.origin.backtoback import (
    OriginalCertificate,
    OriginalSource,
    original_from_application,
)
from pipeline.origin.originals import original_from_xml
from pipeline.settings import Settings
from pipeline.stages import Transition
from pipeline.stages import drawdown as transition
from pipeline.stages.issuance import DRAWDOWN_TOPIC, is_back_to_back, original_number

BALANCES = "drawdown-balance"
MOVEMENTS = "drawdown-movements"  # application id -> the original its certificate drew on
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

    def load(envelope: Envelope, batch: Batch) -> transition.Original:
        return transition.Original.from_json(
            batch.get(BALANCES, transition.drawdown_key(envelope)))

    def draw(held: transition.Original, envelope: Envelope, now: datetime
             ) -> Transition[transition.Original]:
        return transition.decide(held, envelope, original)

    def save(envelope: Envelope, state: transition.Original, batch: Batch) -> None:
        key = transition.drawdown_key(envelope)
        value = state.to_json()
        if value and value != batch.get(BALANCES, key):
            batch.put(BALANCES, key, value)

    movements = {MOVEMENTS: json_table(app, settings, MOVEMENTS, str)}
    load_movement, save_movement = keyed(MOVEMENTS, default="")

    def notice(movement: str, envelope: Envelope, now: datetime) -> Transition[str]:
        return transition.notices(movement, envelope)

    # The draw is durable before the request goes on to be numbered.
    run_stage(app, settings, Stage("drawdown", [DRAWDOWN_TOPIC], tables, load, draw, save,
                                   durable=(BALANCES,), keyed_by_subject=False))
    run_stage(app, settings, Stage("drawdown-notices", ["eco.issuance"], movements,
                                   load_movement, notice, save_movement))
