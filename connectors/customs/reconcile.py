"""The reconciliation poller: asks each customs about certificates still awaiting a decision.

It follows ``eco.transmission`` and ``eco.customs-response`` from their beginning (every
partition, no consumer group: it keeps no offsets of its own and learns nothing from a
worker's memory), folds them into the ledger of ``pipeline.reconciliation``, and every
``ECO_RECONCILE_EVERY`` asks, at most ``ECO_RECONCILE_RATE`` calls per second and
``ECO_RECONCILE_BATCH`` per round, about every version awaiting a decision for longer than
``ECO_RECONCILE_AFTER``. A decision found is recorded like a callback, with the same event id
(derived from the customs' response id), so the stages see it once however it came.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from connectors.customs.callbacks import ResponseRecorder
from connectors.customs.status import CustomsStatus
from pipeline import events, reconciliation
from pipeline.errors import EcoError
from pipeline.kafkaclient import client_options
from pipeline.metrics import RECONCILIATION_AWAITING, record_reconciliation_poll
from pipeline.reconciliation import CertificateKey, Ledger

TOPICS = ("eco.transmission", "eco.customs-response")
log = structlog.get_logger("eco.reconcile")


class ReconciliationPoller:
    """Follows the topics and asks the customs; ``run`` until cancelled."""

    def __init__(self, bootstrap: str, recorder: ResponseRecorder,
                 customs: Mapping[str, CustomsStatus], *, after: float, every: float,
                 rate: float, batch: int, clock: Callable[[], float] = time.time) -> None:
        self.bootstrap = bootstrap
        self.recorder = recorder
        self.customs = {c.upper(): s for c, s in customs.items()}
        self.after, self.every, self.rate, self.batch = after, every, rate, batch
        self.clock = clock
        self.ledger = Ledger()
        self.asked: dict[CertificateKey, float] = {}
        self.caught_up = asyncio.Event()

    async def run(self) -> None:
        """Follow the topics and poll, until cancelled; a broker outage is waited out."""
        follower = asyncio.create_task(self._follow_forever())
        try:
            while True:
                await self.caught_up.wait()
                await self.poll_once()
                await asyncio.sleep(self.every)  # the polling period, not synchronisation
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)
            for status in self.customs.values():
                await status.close()

    async def poll_once(self) -> int:
        """Ask about every certificate due now; returns how many decisions were recorded."""
        due = reconciliation.due(self.ledger, self.clock(), self.after, self.asked, self.batch)
        RECONCILIATION_AWAITING.set(sum(e.awaiting for e in self.ledger.entries.values()))
        recorded = 0
        for entry in due:
            key = entry.key
            customs = self.customs.get(key.country)
            self.asked[key] = self.clock()
            if customs is None:
                continue  # no direct connection: the manual channel answers, not a status call
            try:
                response = await customs.status(key.certificate_number, key.version)
            except EcoError as exc:
                record_reconciliation_poll(key.country, "failed")
                log.warning("reconciliation_call_failed", country=key.country,
                            certificate_number=key.certificate_number, version=key.version,
                            application_id=entry.application_id, reason=str(exc))
                response = None
            else:
                outcome = "pending" if response is None else "decided"
                record_reconciliation_poll(key.country, outcome)
            if response is not None and response.status in reconciliation.DECISIONS:
                try:
                    await self.recorder.record(response, via="reconciliation")
                    recorded += 1
                except EcoError as exc:
                    del self.asked[key]  # the broker did not take it: ask again next round
                    log.warning("reconciliation_record_failed", reason=str(exc),
                                application_id=entry.application_id)
            await asyncio.sleep(1.0 / self.rate)  # the rate limit
        if due:
            log.info("reconciliation_round", asked=len(due), recorded=recorded)
        return recorded

    async def _follow_forever(self) -> None:
        while True:
            try:
                await self._follow()
            except (KafkaError, OSError) as exc:
                log.warning("reconciliation_follow_failed", reason=str(exc))
            await asyncio.sleep(self.every)  # wait out the broker before following again

    async def _follow(self) -> None:
        consumer = AIOKafkaConsumer(**client_options(self.bootstrap), enable_auto_commit=False,
                                    auto_offset_reset="earliest", request_timeout_ms=15000)
        await consumer.start()
        try:
            if any(consumer.partitions_for_topic(t) is None for t in TOPICS):
                await consumer._client.force_metadata_update()  # topics created meanwhile
            partitions = [TopicPartition(t, p) for t in TOPICS
                          for p in sorted(consumer.partitions_for_topic(t) or ())]
            if not partitions:
                log.info("reconciliation_waiting_for_topics", topics=list(TOPICS))
                return
            consumer.assign(partitions)
            # Each (re)start reads everything again; the ledger skips event ids it has folded.
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            while True:
                batch = await consumer.getmany(*partitions, timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        self._fold(record)
                if not self.caught_up.is_set() and all(
                        [await consumer.position(tp) >= ends[tp] for tp in partitions]):
                    self.caught_up.set()
                    log.info("reconciliation_caught_up",
                             awaiting=sum(e.awaiting for e in self.ledger.entries.values()))
        finally:
            await _stop(consumer)

    def _fold(self, record: object) -> None:
        try:
            envelope = events.from_record(getattr(record, "key", None),
                                          getattr(record, "value", None),
                                          list(getattr(record, "headers", ()) or ()))
        except EcoError:
            return  # not an event of ours: the stages dead-letter it
        try:
            self.ledger = reconciliation.fold(self.ledger, envelope.id, envelope.type,
                                              envelope.subject, envelope.data, envelope.time)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("reconciliation_event_skipped", ce_id=envelope.id, reason=str(exc))


async def _stop(consumer: AIOKafkaConsumer) -> None:
    """Stop the consumer; aiokafka may let a CancelledError of its own routines out of
    ``stop``, which must not end the poller unless the poller itself is being cancelled."""
    try:
        await consumer.stop()
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
