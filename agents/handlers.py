"""Stages written as async handlers (``install_stage``), run by the batch frame.

A handler that must await something of its own (a delivery to a customs endpoint) gets a
:class:`StageContext`; what it emits is collected and published with the rest of the
batch. Such a stage cannot be replayed without side effects, so the frame keeps the last
event ids it processed per application and skips a redelivered one; a retryable error is
retried in place with back-off, and dead-lettered once the tries are spent.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import faust
import structlog

from agents.frame import Batch, Stage, json_table, raw_topic, run_stage
from pipeline.errors import PermanentError, is_retryable
from pipeline.events import Envelope
from pipeline.metrics import STAGE_EVENTS
from pipeline.settings import Settings
from pipeline.stages import Emit, Note, Transition

SEEN_PER_APPLICATION = 256


@dataclass
class StageContext:
    """What a handler may use: settings, a bound logger, and a way to publish events."""

    app: faust.App
    settings: Settings
    stage: str
    log: Any
    emitted: list[Emit] = field(default_factory=list)

    def topic(self, name: str) -> faust.TopicT:
        return raw_topic(self.app, name)

    async def emit(self, envelope: Envelope, topic: str | None = None) -> None:
        """Publish an event with the batch's outputs (acknowledged before the batch is)."""
        self.emitted.append(Emit(envelope, topic=topic))


Handler = Callable[[Envelope, StageContext], Awaitable[None]]


def install_stage(app: faust.App, settings: Settings, stage: str, topics: Sequence[str],
                  handler: Handler, *, keyed_by_subject: bool = True) -> None:
    """Register an async handler as a stage over ``topics``; see the module's docstring."""
    seen = f"{stage}-seen"
    tables = {seen: json_table(app, settings, seen, list)}
    base_log = structlog.get_logger("eco.stage").bind(stage=stage)

    def load(envelope: Envelope, batch: Batch) -> list[str]:
        return list(batch.get(seen, envelope.subject) or [])

    async def decide(done: list[str], envelope: Envelope, now: datetime
                     ) -> Transition[list[str]]:
        if envelope.id in done:
            STAGE_EVENTS.labels(stage, "duplicate").inc()
            return Transition(done, notes=(Note("event_duplicate_skipped"),))
        attempts = 0
        while True:
            attempts += 1
            ctx = StageContext(app, settings, stage, base_log.bind(
                application_id=envelope.subject, ce_id=envelope.id, ce_type=envelope.type))
            try:
                await handler(envelope, ctx)
                break
            except Exception as exc:
                if not is_retryable(exc):
                    raise
                if attempts >= settings.retry_attempts:
                    raise PermanentError(f"gave up after {attempts} attempts: {exc}") from exc
                delay = settings.retry_backoff * (2 ** (attempts - 1)) * (1 + random.random() / 2)
                ctx.log.warning("event_retry", attempt=attempts, delay_s=round(delay, 3),
                                error=type(exc).__name__, reason=str(exc))
                await asyncio.sleep(delay)
        return Transition([*done, envelope.id][-SEEN_PER_APPLICATION:],
                          outputs=tuple(ctx.emitted))

    def save(envelope: Envelope, state: list[str], batch: Batch) -> None:
        if state != load(envelope, batch):
            batch.put(seen, envelope.subject, state)

    run_stage(app, settings, Stage(stage, topics, tables, load, decide, save,
                                 keyed_by_subject=keyed_by_subject))
