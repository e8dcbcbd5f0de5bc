"""The stage frame's batch window (``ECO_BATCH_WINDOW_MS``), without a broker: a busy stage
waits for more events to join a batch, up to a whole batch; a quiet stage takes its next
event at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from agents import frame
from pipeline.settings import Settings
from pipeline.stages import Plain, Transition
from tests.unit.test_frame_faults import OUT, App, Event, Kafka, _applications, _record, install

LONG_WINDOW_MS = 60_000
"""A window no test may wait out: the tests' deadlines are far shorter."""
DEADLINE = 10.0


class Trickle:
    """A stream that gives its events one at a time, each once the stage has taken the one
    before: started a batch with it, or begun to wait for others to join it."""

    def __init__(self, events: list[Event], taken: asyncio.Event) -> None:
        self.given, self.taken = events, taken

    def noack(self) -> Trickle:
        return self

    async def events(self) -> AsyncIterator[Event]:
        for event in self.given:
            self.taken.clear()
            yield event
            await asyncio.wait_for(self.taken.wait(), DEADLINE)

    async def ack(self, event: Event) -> None:
        return None


def _batches(window_ms: int, batch_max: int, count: int) -> list[list[str]]:
    """The batches a stage decides of ``count`` events trickling in, as their subjects."""
    apps = _applications(count)
    batches: list[list[str]] = []

    async def run() -> None:
        taken = asyncio.Event()
        run_original, gather_original = frame._run, frame._gather

        async def run_batch(app: Any, settings: Any, stage: Any, log: Any, events: list[Any],
                            client: Any) -> None:
            batches.append([e.message.key.decode() for e in events])
            taken.set()
            await run_original(app, settings, stage, log, events, client)

        async def gather(*args: Any) -> None:
            taken.set()
            await gather_original(*args)

        stage = frame.Stage("windowed", ("eco.application",), {}, load=lambda e, b: None,
                            decide=lambda s, e, n: Transition(s, outputs=(
                                Plain(OUT, e.subject, b"out"),)),
                            save=lambda e, s, b: None)
        app = App(Kafka())
        install(app, replace(Settings(), batch_max=batch_max, batch_window_ms=window_ms), stage)
        frame._run, frame._gather = run_batch, gather  # type: ignore[assignment]
        try:
            stream = Trickle([_record(i, a) for i, a in enumerate(apps)], taken)
            await asyncio.wait_for(app.agent_fun(stream), DEADLINE)
        finally:
            frame._run, frame._gather = run_original, gather_original  # type: ignore[assignment]

    asyncio.run(run())
    return batches


def test_a_quiet_stage_takes_its_next_event_at_once() -> None:
    """The first event after a quiet spell is decided alone, without the window: with a
    window of a minute it is done within the deadline."""
    apps = _applications(1)
    batches = _batches(LONG_WINDOW_MS, batch_max=2, count=3)
    assert batches[0] == [apps[0].subject]


def test_a_busy_stage_waits_for_a_whole_batch() -> None:
    apps = _applications(5)
    batches = _batches(LONG_WINDOW_MS, batch_max=2, count=5)
    # the first alone (quiet), then whole batches of two; the last one, alone, waits out
    # nothing either: the stream ends
    assert batches == [[apps[0].subject], [apps[1].subject, apps[2].subject],
                       [apps[3].subject, apps[4].subject]]


def test_without_a_window_a_busy_stage_takes_what_is_there() -> None:
    apps = _applications(5)
    batches = _batches(0, batch_max=2, count=5)
    assert batches == [[a.subject] for a in apps]
