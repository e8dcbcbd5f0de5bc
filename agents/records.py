"""Events read back from the log by position (``topic:partition:offset``).

What a record of the log already holds is not copied into a table: a table keeps where it is
and reads it back when it is needed again. The retry schedule finds a delivery's signed
certificate in ``eco.issuance`` this way (``agents.bodies``), and the issuer the application
document of a certificate's current version (in ``eco.issuance-requests``) and its signed XML
(in ``eco.issuance``) when an officer asks for a correction or a copy. The reader is one
consumer of its own, in no group, reading one record at a time.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from agents.frame import headers_of
from pipeline import events
from pipeline.errors import BusinessRejection, DependencyUnavailable, EcoError
from pipeline.events import Envelope
from pipeline.kafkaclient import client_options
from pipeline.settings import Settings

FETCH_TIMEOUT_MS = 10_000


def position_of(message: object) -> str:
    """Where a Faust message or a Kafka record is: ``topic:partition:offset``."""
    return f"{message.topic}:{message.partition}:{message.offset}"  # type: ignore[attr-defined]


def parse_position(position: str) -> tuple[str, int, int]:
    """``topic:partition:offset`` as its parts."""
    topic, partition, offset = position.rsplit(":", 2)
    return topic, int(partition), int(offset)


class RecordReader:
    """Reads the event at a position of the log."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def envelope_at(self, position: str, subject: str) -> Envelope:
        """The event at ``position``, which must be about ``subject``. Raises
        DependencyUnavailable when the broker does not give it in time (retryable), and
        BusinessRejection when the log no longer holds it or holds something else."""
        topic, partition, offset = parse_position(position)
        async with self._lock:  # one seek and read at a time on the one consumer
            consumer = await self._started()
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            consumer.seek(tp, offset)
            found = await consumer.getmany(tp, timeout_ms=FETCH_TIMEOUT_MS, max_records=1)
        records = found.get(tp, [])
        if not records:
            raise DependencyUnavailable(
                f"{position}: not read within {FETCH_TIMEOUT_MS / 1000:.0f} s")
        record = records[0]
        if record.offset != offset:
            raise BusinessRejection(f"the record at {position} is no longer in the topic "
                                    "(retention)")
        try:
            # Not every topic is keyed by the subject (eco.issuance-requests is keyed by the
            # number sequence): the event's own subject is checked below instead.
            envelope = events.from_record(None, record.value, headers_of(record))
        except EcoError as exc:
            raise BusinessRejection(f"{position}: {exc}") from exc
        if envelope.subject != subject:
            raise BusinessRejection(f"the record at {position} is about {envelope.subject}, "
                                    f"not {subject}")
        return envelope

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
