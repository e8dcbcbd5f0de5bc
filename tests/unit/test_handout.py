"""The hand-out of fetched records to the streams (pipeline/handout.py): a callback that need
not wait runs to its end in the consumer's own turn, with no task; one that has to wait is
carried on in a task and still interrupted by a suspended flow, as Faust's ``wait_first``."""

from __future__ import annotations

import asyncio
from typing import Any

import mode
import pytest

from pipeline import handout

DEADLINE = 5.0


class Consumer(mode.Service):
    """What the hand-out reads of Faust's consumer: its flow and its ``wait_first``."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()


def test_a_callback_that_need_not_wait_ends_in_the_first_step() -> None:
    async def callback() -> str:
        return "handed out"

    async def run() -> None:
        consumer = Consumer()
        flow = consumer.suspend_flow.wait()
        waiting = handout._wait_first(consumer, callback(), flow)
        with pytest.raises(StopIteration) as ended:  # no turn of the event loop, no task
            waiting.send(None)
        results = ended.value.value
        assert results.results == ["handed out"] and not results.stopped
        assert flow.cr_frame is None, "the flow's wait is closed, never left pending"

    asyncio.run(run())


def test_a_callback_that_has_to_wait_is_carried_on_to_its_end() -> None:
    steps: list[str] = []

    async def run() -> None:
        room = asyncio.get_running_loop().create_future()
        started = asyncio.Event()

        async def callback() -> str:
            steps.append("started")
            started.set()
            await room  # a full stream buffer
            steps.append("resumed")
            await asyncio.sleep(0)  # a second stop on the way: carried on through it too
            return "handed out"

        consumer = Consumer()
        waiting = asyncio.ensure_future(
            handout._wait_first(consumer, callback(), consumer.suspend_flow.wait()))
        await asyncio.wait_for(started.wait(), DEADLINE)
        assert steps == ["started"] and not waiting.done()
        room.set_result(None)
        results = await asyncio.wait_for(waiting, DEADLINE)
        assert steps == ["started", "resumed"] and results.results == ["handed out"]

    asyncio.run(run())


def test_a_suspended_flow_still_interrupts_a_callback_that_waits() -> None:
    async def run() -> None:
        never = asyncio.get_running_loop().create_future()
        started, cancelled = asyncio.Event(), asyncio.Event()

        async def callback() -> None:
            started.set()
            try:
                await never
            except asyncio.CancelledError:
                cancelled.set()
                raise

        consumer = Consumer()
        waiting = asyncio.ensure_future(
            handout._wait_first(consumer, callback(), consumer.suspend_flow.wait()))
        await asyncio.wait_for(started.wait(), DEADLINE)
        consumer.suspend_flow.set()  # a rebalance
        results = await asyncio.wait_for(waiting, DEADLINE)
        assert results.results == [True] and not results.stopped  # the flow's wait won
        # the waiting callback is cancelled, as Faust's
        await asyncio.wait_for(cancelled.wait(), DEADLINE)

    asyncio.run(run())


def test_a_callback_that_raises_before_waiting_raises_to_the_consumer() -> None:
    async def callback() -> Any:
        raise ValueError("undecodable")

    async def run() -> None:
        consumer = Consumer()
        with pytest.raises(ValueError, match="undecodable"):
            await handout._wait_first(consumer, callback(), consumer.suspend_flow.wait())

    asyncio.run(run())


def test_anything_else_is_waited_for_as_faust_does() -> None:
    async def run() -> None:
        consumer = Consumer()
        event = asyncio.Event()
        event.set()
        results = await asyncio.wait_for(
            handout._wait_first(consumer, event, timeout=1.0), DEADLINE)
        assert results.done == [event]

    asyncio.run(run())
