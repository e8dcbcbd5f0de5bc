"""Issuance stage: the router forwards each qualified verification, and each officer's request
from ``eco.issuance-commands``, to ``eco.issuance-requests`` keyed by number sequence (it
keeps each application's sequence key in a table co-partitioned with both sources); a
back-to-back application draws on its original first (``agents.drawdown``). The issuer, which
owns that topic's partitions, numbers, builds, signs and records the certificates
(``pipeline.stages.issuance``). Per batch it writes one serial block per sequence and year and
makes it durable, then records the certificates durably, stores their documents, and only
then publishes them: a number is never used twice and never skipped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust

from agents import drawdown
from agents.frame import Batch, Stage, json_table, keyed, run_stage
from agents.trust import trust_view
from pipeline.certificate.notices import notice_keys
from pipeline.events import Envelope
from pipeline.issuing import CertificateFactory
from pipeline.settings import Settings
from pipeline.stages import Transition
from pipeline.stages import issuance as transition
from pipeline.stages.issuance import Issuer, Ledger
from pipeline.stages.serials import SerialBlock

COMMANDS_TOPIC = "eco.issuance-commands"
SEQUENCES, ISSUED, OFFICES = "issuance-sequence", "issuance-issued", "issuance-office"


def install(app: faust.App, settings: Settings) -> None:
    factory = CertificateFactory.from_settings(settings)
    factory.prepare_keys()  # before the first certificate: checked, never written
    trust = trust_view(app, settings)
    notices = notice_keys(settings)
    drawdown.install(app, settings, factory.store_dir, trust)
    tables = {name: json_table(app, settings, name, dict) for name in (SEQUENCES, ISSUED)}
    offices = {OFFICES: json_table(app, settings, OFFICES, str)}
    load_office, save_office = keyed(OFFICES, default="")

    def route(sequence: Any, envelope: Envelope, now: datetime) -> Transition[Any]:
        if envelope.type == transition.REQUESTED:
            # Signed by an accepted officer key, or dead-lettered (certificate/notices.py).
            notices.verify(envelope.id, envelope.type, envelope.subject, envelope.data)
        return transition.route(sequence, envelope)

    def load(envelope: Envelope, batch: Batch) -> Ledger:
        record = batch.get(ISSUED, envelope.subject)
        key = transition.block_key(envelope, record)
        if key is None:
            return Ledger(record, SerialBlock())
        block = SerialBlock.from_json(batch.get(SEQUENCES, key)).forget_recorded(
            lambda holder, app_id: transition.recorded(batch.stored(ISSUED, app_id), holder,
                                                       app_id))
        return Ledger(record, block)

    def issue(ledger: Ledger, envelope: Envelope, now: datetime) -> Transition[Ledger]:
        return transition.issue(ledger, envelope, Issuer(factory, trust.current(), now))

    def save(envelope: Envelope, ledger: Ledger, batch: Batch) -> None:
        key = transition.block_key(envelope, batch.get(ISSUED, envelope.subject))
        if key is not None and ledger.block.to_json() != batch.get(SEQUENCES, key):
            batch.put(SEQUENCES, key, ledger.block.to_json())
        if ledger.record and (ledger.record != batch.get(ISSUED, envelope.subject)
                              or transition.replayed(envelope, ledger.record)):
            # A replay writes the record again: the local store may hold what its changelog
            # never received (a worker killed between the two).
            batch.put(ISSUED, envelope.subject, ledger.record)

    run_stage(app, settings, Stage("issuance-router", ["eco.verification", COMMANDS_TOPIC],
                                       offices, load_office, route, save_office))
    run_stage(app, settings, Stage(
        "issuance", [transition.REQUESTS_TOPIC], tables, load, issue, save,
        on_failure=transition.release_on_failure, durable=(SEQUENCES,),
        keyed_by_subject=False, store=factory.store_all))
