"""Reading and writing the pipeline's topics from outside a worker: submitting application
events, and reading the status and alert feeds (``eco submit``, ``eco status``, ``eco alerts``,
the demo and the tests)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.partitioner import murmur2

from pipeline import events, statusrecord
from pipeline.errors import DependencyUnavailable, EcoError
from pipeline.events import Envelope
from pipeline.kafkaclient import client_options, unreachable

STATUS_TOPIC = "eco.status"
ALERT_TOPIC = "eco.alert"


def partition_for(key: str, partitions: int) -> int:
    """The partition Kafka's default partitioner gives ``key`` (murmur2, as in Java)."""
    hashed: int = murmur2(key.encode())
    return (hashed & 0x7FFFFFFF) % partitions


async def start_producer(bootstrap: str) -> AIOKafkaProducer:
    """A started idempotent producer with ``acks=all``; DependencyUnavailable if the broker
    does not answer."""
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all",
                                enable_idempotence=True, request_timeout_ms=15000)
    try:
        await producer.start()
    except (KafkaError, OSError) as exc:
        await producer.stop()
        raise DependencyUnavailable(f"Kafka broker at {bootstrap} does not answer: {exc}"
                                    ) from exc
    return producer


async def publish(bootstrap: str, envelopes: Sequence[Envelope]) -> None:
    """Publish events to their topics and wait until the broker has every one."""
    producer = AIOKafkaProducer(**client_options(bootstrap), acks="all",
                                enable_idempotence=True, request_timeout_ms=15000)
    try:
        await producer.start()
    except KafkaConnectionError as exc:
        await producer.stop()
        raise DependencyUnavailable(unreachable(bootstrap)) from exc
    try:
        for envelope in envelopes:
            key, value, headers = events.to_record(envelope)
            await producer.send_and_wait(events.TOPIC_OF[envelope.type], value, key=key,
                                         headers=headers)
    except KafkaError as exc:
        raise DependencyUnavailable(f"cannot publish to {bootstrap}: {exc}") from exc
    finally:
        await producer.stop()


async def _consumer(bootstrap: str) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(**client_options(bootstrap), enable_auto_commit=False,
                                auto_offset_reset="earliest", request_timeout_ms=15000)
    try:
        await consumer.start()
    except KafkaConnectionError as exc:
        await consumer.stop()
        raise DependencyUnavailable(unreachable(bootstrap)) from exc
    return consumer


async def read_topic(bootstrap: str, topic: str, *, follow: bool = False,
                     partitions: Sequence[int] | None = None,
                     stop: Callable[[], bool] | None = None,
                     since: Mapping[int, int] | None = None) -> AsyncIterator[Any]:
    """Yield the records of ``topic`` from the start (or, for the partitions in ``since``,
    from those offsets); without ``follow``, stop at its end."""
    consumer = await _consumer(bootstrap)
    try:
        chosen = [tp for tp in await _partitions_of(consumer, topic)
                  if partitions is None or tp.partition in partitions]
        if not chosen:
            return
        consumer.assign(chosen)
        await consumer.seek_to_beginning(*chosen)
        for tp in chosen:
            if since is not None and tp.partition in since:
                consumer.seek(tp, since[tp.partition])
        ends = await consumer.end_offsets(chosen)
        while True:
            batch = await consumer.getmany(*chosen, timeout_ms=200)
            for records in batch.values():
                for record in records:
                    yield record
            if stop is not None and stop():
                return
            if not follow and all([await _reached(consumer, tp, ends[tp]) for tp in chosen]):
                return
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topics: Iterable[str]) -> dict[str, dict[int, int]]:
    """Per topic, the offset after the last record of each partition (none for a topic that
    does not exist yet), read with one consumer."""
    consumer = await _consumer(bootstrap)
    try:
        found: dict[str, dict[int, int]] = {}
        for topic in topics:
            ends = await consumer.end_offsets(await _partitions_of(consumer, topic))
            found[topic] = {tp.partition: offset for tp, offset in ends.items()}
        return found
    finally:
        await consumer.stop()


async def _partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """The partitions of ``topic``, in order (none for a topic that does not exist yet)."""
    known = consumer.partitions_for_topic(topic)
    if known is None:
        await consumer._client.force_metadata_update()  # topic may be new
        known = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(known)]


async def _reached(consumer: AIOKafkaConsumer, tp: TopicPartition, end: int) -> bool:
    return bool(await consumer.position(tp) >= end)


async def read_events(bootstrap: str, topic: str) -> list[Envelope]:
    """Every event on ``topic`` from its start, each partition in order; records that are not
    events of this version are left out."""
    found: list[Envelope] = []
    async for record in read_topic(bootstrap, topic):
        try:
            found.append(events.from_record(record.key, record.value, list(record.headers)))
        except EcoError:
            continue
    return found


def decode_status(value: bytes | None) -> dict[str, Any] | None:
    """One ``eco.status`` record's value as the status record (``CertificateStatus.to_json``
    form: Avro, or JSON from earlier versions); None for a tombstone or a record that is not
    one. Every reader of the status table goes through here."""
    if value is None:
        return None
    try:
        return statusrecord.decode_status(value)
    except EcoError:
        return None


async def follow_topics(bootstrap: str, topics: Sequence[str], *,
                        on_caught_up: Callable[[], None] | None = None,
                        stop: Callable[[], bool] | None = None) -> AsyncIterator[Any]:
    """Yield the records of ``topics`` from their start and go on following them;
    ``on_caught_up`` is called once every partition has been read up to where it ended when
    the reading began (a view built from them is then current)."""
    consumer = await _consumer(bootstrap)
    try:
        await consumer._client.force_metadata_update()
        chosen = [TopicPartition(topic, p) for topic in topics
                  for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not chosen:
            if on_caught_up is not None:
                on_caught_up()
            return
        consumer.assign(chosen)
        await consumer.seek_to_beginning(*chosen)
        ends = await consumer.end_offsets(chosen)
        caught_up = False
        while stop is None or not stop():
            batch = await consumer.getmany(*chosen, timeout_ms=500)
            for records in batch.values():
                for record in records:
                    yield record
            if not caught_up and all([await _reached(consumer, tp, ends[tp]) for tp in chosen]):
                caught_up = True
                if on_caught_up is not None:
                    on_caught_up()
    finally:
        await consumer.stop()


async def latest_statuses(bootstrap: str, ids: Sequence[str] | None = None
                          ) -> dict[str, dict[str, Any]]:
    """The newest status record of each application (or of the given ids)."""
    wanted = set(ids) if ids is not None else None
    latest: dict[str, dict[str, Any]] = {}
    async for record in read_topic(bootstrap, STATUS_TOPIC):
        key = record.key.decode() if record.key else ""
        status = decode_status(record.value)
        if (wanted is None or key in wanted) and status is not None:
            latest[key] = status
    return latest


async def wait_for_statuses(bootstrap: str, ids: Sequence[str],
                            done: Callable[[dict[str, Any]], bool], timeout: float,
                            on_change: Callable[[str, dict[str, Any]], None] | None = None,
                            abort: Callable[[], bool] | None = None,
                            ) -> dict[str, dict[str, Any]]:
    """Follow ``eco.status`` until every id satisfies ``done``, the deadline passes or
    ``abort`` says to give up."""
    deadline = time.monotonic() + timeout
    latest: dict[str, dict[str, Any]] = {}
    wanted = set(ids)

    def finished() -> bool:
        return all(i in latest and done(latest[i]) for i in wanted) or (
            time.monotonic() > deadline) or (abort is not None and abort())

    async for record in read_topic(bootstrap, STATUS_TOPIC, follow=True, stop=finished):
        key = record.key.decode() if record.key else ""
        status = decode_status(record.value) if key in wanted else None
        if status is not None:
            latest[key] = status
            if on_change is not None:
                on_change(key, latest[key])
    return latest


async def read_alerts(bootstrap: str, *, follow: bool = False,
                      on_alert: Callable[[Envelope], None] | None = None
                      ) -> list[Envelope]:
    """Alerts in order, each alert id once (a replayed alert is the same alert)."""
    seen: set[str] = set()
    alerts: list[Envelope] = []
    async for record in read_topic(bootstrap, ALERT_TOPIC, follow=follow):
        try:
            envelope = events.from_record(record.key, record.value, list(record.headers))
        except Exception:
            continue
        alert_id = str(envelope.data.get("alert_id"))
        if alert_id in seen:
            continue
        seen.add(alert_id)
        alerts.append(envelope)
        if on_alert is not None:
            on_alert(envelope)
    return alerts


def run(coro: Any) -> Any:
    """Run a coroutine from synchronous code (the CLI)."""
    return asyncio.run(coro)
