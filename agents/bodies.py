"""The signed certificates a delivery carries, kept out of the retry schedule.

A certificate's signed XML is in ``eco.issuance``; the retry schedule keeps only where (topic,
partition, offset), so it stays small however long a customs is down. The runner keeps the
bodies of recent deliveries in memory, a bounded number (``KEPT``); a delivery whose body is
not there (after a restart, or one that waited long) reads it back from ``eco.issuance`` at
its offset, with a consumer of its own that belongs to no group.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from agents.frame import headers_of
from pipeline import events
from pipeline.errors import BusinessRejection, CustomsTemporaryFailure, EcoError
from pipeline.kafkaclient import client_options
from pipeline.settings import Settings
from pipeline.stages.transmission import PendingDelivery

KEPT = 2000
"""Bodies kept in memory: a few seconds of deliveries at full speed (about 10 MB)."""
FETCH_TIMEOUT_MS = 10_000
LOG = structlog.get_logger("eco.stage").bind(stage="transmission")


class CertificateBodies:
    """Bodies by delivery id: from memory, else read back from their source record."""

    def __init__(self, settings: Settings, kept: int = KEPT) -> None:
        self.settings = settings
        self.kept = kept
        self._bodies: OrderedDict[str, str] = OrderedDict()
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    def keep(self, delivery: PendingDelivery) -> PendingDelivery:
        """Remember ``delivery``'s body; the delivery as the schedule keeps it (no body when
        its source record can give it back)."""
        if not delivery.source or not delivery.body:
            return delivery.without_body()
        self._bodies[delivery.delivery_id] = delivery.body
        self._bodies.move_to_end(delivery.delivery_id)
        while len(self._bodies) > self.kept:
            self._bodies.popitem(last=False)
        return delivery.without_body()

    def forget(self, delivery: PendingDelivery) -> None:
        self._bodies.pop(delivery.delivery_id, None)

    async def body(self, delivery: PendingDelivery) -> str:
        """The body to send: the delivery's own, the one kept, or its source record's."""
        if delivery.body or not delivery.source:
            return delivery.body
        kept = self._bodies.get(delivery.delivery_id)
        if kept is not None:
            return kept
        return await self._read(delivery)

    async def _read(self, delivery: PendingDelivery) -> str:
        topic, partition, offset = delivery.source_position()
        async with self._lock:  # one seek and read at a time on the one consumer
            consumer = await self._started()
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, offset)
            found = await consumer.getmany(tp, timeout_ms=FETCH_TIMEOUT_MS, max_records=1)
        records = found.get(tp, [])
        if not records:
            raise CustomsTemporaryFailure(f"{delivery.source}: not read within "
                                          f"{FETCH_TIMEOUT_MS / 1000:.0f} s")
        record = records[0]
        if record.offset != offset:
            raise BusinessRejection(f"the signed certificate at {delivery.source} is no longer "
                                    "in the topic (retention)")
        try:
            envelope = events.from_record(record.key, record.value, headers_of(record))
        except EcoError as exc:
            raise BusinessRejection(f"{delivery.source}: {exc}") from exc
        body = str(envelope.data.get("document_xml") or "")
        if envelope.subject != delivery.application_id or not body:
            raise BusinessRejection(f"{delivery.source} is not the certificate of "
                                    f"{delivery.application_id}")
        LOG.info("delivery_body_read", application_id=delivery.application_id,
                 source=delivery.source)
        return body

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                **client_options(self.settings.kafka_bootstrap, self.settings),
                enable_auto_commit=False, group_id=None, request_timeout_ms=15000)
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

