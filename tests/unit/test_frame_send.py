"""The frame sends a batch's records at once instead of waiting out the producer's linger
time, on aiokafka's own record accumulator (the internals ``agents.frame.send_now`` uses); a
stage's table records go through its own producer and resolve Faust's pending messages."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiokafka.cluster import ClusterMetadata
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError
from aiokafka.producer.message_accumulator import MessageAccumulator
from aiokafka.structs import TopicPartition

from agents.frame import send_now

TP = TopicPartition("eco.issuance", 3)


def test_records_held_for_the_linger_time_are_sent_at_once() -> None:
    async def run() -> tuple[float | None, float | None, bool, bool]:
        accumulator = MessageAccumulator(ClusterMetadata(), 16384, 0, 30, linger_ms=60_000)
        await accumulator.add_message(TP, b"key", b"value", timeout=1)
        [batch] = accumulator._batches[TP]
        lingering = batch.remaining_linger()
        # The sender has looked at the batch and waits again: for more, or for its linger.
        accumulator._waiter_future = asyncio.get_running_loop().create_future()
        woken_before = accumulator._waiter_future.done()
        send_now(SimpleNamespace(_producer=SimpleNamespace(_message_accumulator=accumulator)))
        return lingering, batch.remaining_linger(), woken_before, \
            accumulator._waiter_future.done()

    lingering, after, woken_before, woken = asyncio.run(run())
    assert lingering is not None and lingering > 50  # would wait a minute for more records
    assert after is None and not woken_before and woken  # closed, and the sender woken


def test_a_producer_without_a_kafka_client_is_left_alone() -> None:
    send_now(SimpleNamespace())
    send_now(SimpleNamespace(_producer=None))


class Pending(asyncio.Future):  # type: ignore[type-arg]
    """Faust's pending changelog message: a future with the record and a callback."""

    def __init__(self, key: bytes, value: bytes | None, partition: int,
                 seen: list[object]) -> None:
        super().__init__()
        self.message = SimpleNamespace(
            channel=SimpleNamespace(get_topic_name=lambda: "eco-status-changelog"),
            key=key, value=value, partition=partition, headers={},
            callback=seen.append)


class Client:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None, object]] = []
        self.fail = fail

    async def send(self, topic: str, value: bytes | None, key: bytes | None = None,
                   partition: int | None = None, headers: object = None
                   ) -> asyncio.Future[object]:
        self.sent.append((topic, key, value, partition, headers))
        done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if self.fail:
            done.set_exception(KafkaTimeoutError())
        else:
            done.set_result(SimpleNamespace(topic=topic, partition=partition, offset=7))
        return done


def test_changelog_records_go_through_the_stage_client_in_order_and_resolve() -> None:
    from agents.frame import acknowledged, send_changelog

    async def run() -> tuple[Client, list[object], list[object]]:
        seen: list[object] = []
        records = [Pending(b"a", b"1", 3, seen), Pending(b"b", None, 5, seen)]
        client = Client()
        await send_changelog(client, records)
        outcomes = await acknowledged(client, records)
        return client, seen, outcomes

    client, seen, outcomes = asyncio.run(run())
    assert client.sent == [("eco-status-changelog", b"a", b"1", 3, None),
                           ("eco-status-changelog", b"b", None, 5, None)]  # a tombstone too
    assert [o.offset for o in outcomes] == [7, 7]  # type: ignore[attr-defined]
    assert len(seen) == 2  # the table's callback: RocksDB keeps the offset


def test_a_changelog_record_the_broker_refuses_fails_the_wait() -> None:
    from agents.frame import acknowledged, send_changelog

    async def run() -> None:
        records = [Pending(b"a", b"1", 0, [])]
        client = Client(fail=True)
        await send_changelog(client, records)
        await acknowledged(client, records)

    with pytest.raises(KafkaTimeoutError):
        asyncio.run(run())


def test_a_stage_waits_for_its_producer_while_the_broker_cannot_be_reached() -> None:
    from dataclasses import replace

    import structlog

    from agents.frame import _started_client
    from pipeline.settings import Settings

    calls: list[str] = []

    async def make(settings: Settings, stage: str) -> str:
        calls.append(stage)
        if len(calls) < 3:
            raise KafkaConnectionError("no broker")
        return "client"

    settings = replace(Settings(), retry_backoff=0.001)
    got = asyncio.run(_started_client(make, settings, "status", structlog.get_logger()))
    assert got == "client" and calls == ["status"] * 3
