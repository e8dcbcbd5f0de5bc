"""The frame sends a batch's records at once instead of waiting out the producer's linger
time, on aiokafka's own record accumulator (the internals ``agents.frame.send_now`` uses)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiokafka.cluster import ClusterMetadata
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
