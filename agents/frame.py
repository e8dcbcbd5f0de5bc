"""The stage frame: what every stage does around its own work.

For each message a stage receives, the frame decodes the CloudEvent, skips an event id
it has already processed (redelivery after a crash or a rebalance is harmless), calls
the stage's handler, retries a retryable error a bounded number of times with
exponential back-off and jitter, and dead-letters a permanent one (or an exhausted
retryable one) with the reason, the stage and the original topic, partition and offset
in headers. Then it carries on with the next message. It counts and times every event
and logs one structured line per event.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import faust
import structlog

from pipeline import events
from pipeline.errors import EcoError, is_retryable
from pipeline.events import Envelope
from pipeline.metrics import STAGE_EVENTS, STAGE_SECONDS, record_deadletter, stage_installed
from pipeline.settings import Settings

Headers = list[tuple[str, bytes]]
SEEN_PER_APPLICATION = 256
OUTPUT_NAMESPACE = uuid.UUID("6f1c2d3e-7a8b-4c5d-9e0f-1a2b3c4d5e6f")


def derived_id(*parts: str) -> str:
    """A deterministic event id for an output, so that a replayed input yields the same id."""
    return str(uuid.uuid5(OUTPUT_NAMESPACE, json.dumps(parts)))


@dataclass
class StageContext:
    """What a handler may use: settings, a bound logger, and ways to publish events."""

    app: faust.App
    settings: Settings
    stage: str
    log: Any  # structlog BoundLogger bound to the current message

    def topic(self, name: str) -> faust.TopicT:
        return raw_topic(self.app, name)

    async def emit(self, envelope: Envelope, topic: str | None = None) -> None:
        """Publish an event and wait until the broker has it."""
        key, value, headers = events.to_record(envelope)
        await self.send(topic or events.TOPIC_OF[envelope.type], key, value, headers)

    async def send(self, topic: str, key: bytes | None, value: bytes | None,
                   headers: Headers | None = None) -> None:
        fut = await self.topic(topic).send(key=key, value=value, headers=headers or [])
        await fut


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    """A topic whose keys and values are bytes: the frame does its own (Avro) decoding."""
    return app.topic(name, key_type=bytes, value_type=bytes,
                     key_serializer="raw", value_serializer="raw")


Handler = Callable[[Envelope, StageContext], Awaitable[None]]


def json_table(app: faust.App, settings: Settings, name: str, default: Callable[[], Any]
               ) -> Any:
    """A Kafka-backed table of plain JSON values keyed by string (application id or office)."""
    return app.Table(name, default=default, partitions=settings.kafka_partitions)


def _headers(message: Any) -> Headers:
    raw = message.headers or []
    items: Iterable[tuple[str, Any]] = raw.items() if isinstance(raw, dict) else raw
    return [(k, v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


def install_stage(app: faust.App, settings: Settings, stage: str, topics: Sequence[str],
                  handler: Handler, *, keyed_by_subject: bool = True) -> None:
    """Register one stage as a Faust agent (concurrency 1) over ``topics``.

    ``keyed_by_subject=False`` is for a repartitioned topic, whose key is not the
    application id (issuance requests are keyed by issuing office).
    """
    seen = json_table(app, settings, f"{stage}-seen", list)
    source = app.topic(*topics, key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw")
    base_log = structlog.get_logger("eco.stage").bind(stage=stage)
    stage_installed(stage, topics)  # metrics: the stage's series at zero, its source topics

    async def agent(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await _process(event.message)

    async def _process(message: Any) -> None:
        started = time.perf_counter()
        log = base_log.bind(topic=message.topic, partition=message.partition,
                            offset=message.offset)
        ctx = StageContext(app=app, settings=settings, stage=stage, log=log)
        try:
            key = message.key if keyed_by_subject else None
            envelope = events.from_record(key, message.value, _headers(message))
        except EcoError as exc:
            await _dead_letter(ctx, message, exc, attempts=0)
            return
        log = log.bind(application_id=envelope.subject, ce_id=envelope.id,
                       ce_type=envelope.type)
        ctx.log = log
        done: list[str] = list(seen[envelope.subject])
        if envelope.id in done:
            STAGE_EVENTS.labels(stage, "duplicate").inc()
            log.info("event_duplicate_skipped")
            return
        attempts = 0
        while True:
            attempts += 1
            try:
                await handler(envelope, ctx)
                break
            except Exception as exc:
                if is_retryable(exc) and attempts < settings.retry_attempts:
                    STAGE_EVENTS.labels(stage, "retried").inc()
                    delay = settings.retry_backoff * (2 ** (attempts - 1))
                    delay *= 1 + random.random() / 2
                    log.warning("event_retry", attempt=attempts, delay_s=round(delay, 3),
                                error=type(exc).__name__, reason=str(exc))
                    await asyncio.sleep(delay)
                    continue
                STAGE_EVENTS.labels(stage, "failed").inc()
                await _dead_letter(ctx, message, exc, attempts=attempts)
                return
        seen[envelope.subject] = [*done, envelope.id][-SEEN_PER_APPLICATION:]
        elapsed = time.perf_counter() - started
        STAGE_SECONDS.labels(stage).observe(elapsed)
        STAGE_EVENTS.labels(stage, "processed").inc()
        log.info("event_processed", duration_ms=round(elapsed * 1000, 2), attempts=attempts)

    agent.__name__ = agent.__qualname__ = f"{stage}_agent"
    app.agent(source, name=f"eco.{stage}", concurrency=1)(agent)


async def _dead_letter(ctx: StageContext, message: Any, error: BaseException,
                       attempts: int) -> None:
    """Publish the original message, untouched, to ``eco.deadletter`` with the reason."""
    reason = str(error) or type(error).__name__
    headers = [
        *_headers(message),
        ("eco_dlq_reason", reason.encode()[:4000]),
        ("eco_dlq_error", type(error).__name__.encode()),
        ("eco_dlq_stage", ctx.stage.encode()),
        ("eco_dlq_topic", str(message.topic).encode()),
        ("eco_dlq_partition", str(message.partition).encode()),
        ("eco_dlq_offset", str(message.offset).encode()),
        ("eco_dlq_attempts", str(attempts).encode()),
        ("eco_dlq_time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode()),
    ]
    await ctx.send(events.DEADLETTER_TOPIC, message.key, message.value, headers)
    STAGE_EVENTS.labels(ctx.stage, "deadlettered").inc()
    record_deadletter(ctx.stage, error)  # metrics: dead letters by stage and reason class
    ctx.log.error("event_deadlettered", error=type(error).__name__, reason=reason,
                  attempts=attempts)
