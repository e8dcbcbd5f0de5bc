"""Issuance stage: the router forwards each qualified verification, and each officer's request
from ``eco.issuance-commands``, to ``eco.issuance-requests`` keyed by number sequence (it
keeps each application's sequence key in a table co-partitioned with both sources); a
back-to-back application draws on its original first (``agents.drawdown``). The issuer, which
owns that topic's partitions, numbers, builds, signs and records the certificates
(``pipeline.stages.issuance``). Per batch it writes one serial block per sequence and year and
makes it durable, stores the certificates' documents and publishes them, and only then
records the certificates, with where their signed XML is in ``eco.issuance``: a number is
never used twice and never skipped, and a record found means its events are out."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import faust
import structlog

from agents import drawdown
from agents.frame import Batch, Stage, json_table, keyed, run_stage
from agents.records import RecordReader, position_of
from agents.trust import trust_view
from pipeline.certificate.notices import notice_keys
from pipeline.errors import DependencyUnavailable
from pipeline.events import Envelope
from pipeline.issuing import CertificateFactory
from pipeline.settings import Settings
from pipeline.stages import Emit, Transition
from pipeline.stages import issuance as transition
from pipeline.stages.issuance import Current, Issuer, Ledger
from pipeline.stages.serials import SerialBlock

COMMANDS_TOPIC = "eco.issuance-commands"
KEPT = 512  # recent certificates' XML kept (more than a batch)
LOG = structlog.get_logger("eco.stage").bind(stage="issuance")
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
    reader = RecordReader(settings)
    recent = RecentCertificates()

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

    async def issue(ledger: Ledger, envelope: Envelope, now: datetime) -> Transition[Ledger]:
        here = position_of(faust.current_event().message)  # type: ignore[union-attr]
        current = await read_back(ledger, envelope)
        step = transition.issue(ledger, envelope, Issuer(factory, trust.current(), now),
                                here, current)
        for output in step.outputs:
            if isinstance(output, Emit) and output.envelope.type == transition.ISSUED:
                recent.keep(str(output.envelope.data["document_xml"]))
        return step

    async def read_back(ledger: Ledger, envelope: Envelope) -> Current:
        """What an officer's request needs of the current version, from the log."""
        wanted = transition.reads(envelope, ledger.record)
        found: dict[str, str] = {}
        if "document" in wanted:
            found["document"] = transition.current_document(
                await reader.envelope_at(wanted["document"], envelope.subject))
            LOG.info("issuer_read_back", application_id=envelope.subject, what="document",
                     position=wanted["document"])
        if "xml" in wanted:
            record = ledger.record or {}
            xml = recent.get(str(record.get("xml_sha256")))
            if xml is None and not wanted["xml"]:
                raise DependencyUnavailable(
                    f"{envelope.subject}: the issued event of the current version is not "
                    "published yet")
            if xml is None:
                issued = await reader.envelope_at(wanted["xml"], envelope.subject)
                xml = str(issued.data.get("document_xml") or "")
                LOG.info("issuer_read_back", application_id=envelope.subject, what="xml",
                         position=wanted["xml"])
            found["xml"] = xml
        return Current(**found)

    def located(envelope: Envelope, positions: Sequence[str], batch: Batch) -> None:
        record = batch.get(ISSUED, envelope.subject)
        if record:
            placed = transition.located(record, envelope, positions)
            if placed is not record:
                batch.put(ISSUED, envelope.subject, placed)

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
        on_failure=transition.release_on_failure, durable=(SEQUENCES,), after=(ISSUED,),
        located=located, keyed_by_subject=False, store=factory.store_all))

    async def close_reader(sender: Any, *args: Any, **kwargs: Any) -> None:
        await reader.close()

    app.on_before_shutdown.connect(close_reader)  # type: ignore[arg-type]


class RecentCertificates:
    """The signed XML of the certificates issued last, by SHA-256: a copy requested soon
    after (in the same batch, before the issued event has a position) finds it here."""

    def __init__(self, kept: int = KEPT) -> None:
        self.kept = kept
        self._xml: OrderedDict[str, str] = OrderedDict()

    def keep(self, xml: str) -> None:
        digest = hashlib.sha256(xml.encode()).hexdigest()
        self._xml[digest] = xml
        self._xml.move_to_end(digest)
        while len(self._xml) > self.kept:
            self._xml.popitem(last=False)

    def get(self, digest: str) -> str | None:
        return self._xml.get(digest)
