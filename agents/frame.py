"""The stage frame: batches, state, publishing, acknowledgement and dead letters.

A stage is a pure transition (``pipeline.stages``) plus the wiring that says where its state
lives (:class:`Stage`). The frame takes the events a stage's partitions have ready, up to
``ECO_BATCH_MAX`` at a time; a stage that is busy (a batch ended less than ``QUIET_AFTER``
ago) first waits up to ``ECO_BATCH_WINDOW_MS`` for a whole batch, so that at a steady
moderate rate its batches are not of one or two events each, every one of them paying a
round trip to the broker; a quiet stage takes its next event at once. For each batch:

1. decodes every record; one that is not an event of this version is dead-lettered;
2. applies the transitions in order, each to the state the previous ones left, in an
   overlay over the stage's tables (nothing is written yet); an event whose transition
   fails for good is dead-lettered with the reason, and the others go on;
3. writes the overlay to the tables, those marked durable first (and waits for their
   changelog records: the issuer's serial blocks, one write per sequence and year for the
   whole batch), stores the batch's documents in an executor, and sends every output, dead
   letter and changelog record without waiting for each; then waits for all of the
   broker's acknowledgements together; a stage's ``after`` tables are written last, once
   those are in, and waited for too (the certificates' records);
4. runs what the transitions left for the commit (:meth:`Batch.when_committed`), and only
   then acknowledges the batch's records, so Faust commits past them: a batch acknowledged
   has its outputs and its state in Kafka.

A retryable failure (``pipeline.errors.is_retryable``: timeouts, broker and connection
errors, OS errors) makes the frame process the whole batch again after a back-off; the
transitions are idempotent, so that is harmless. An event that keeps raising a retryable
error is dead-lettered after ``ECO_RETRY_ATTEMPTS`` tries. When the outputs or the dead
letters cannot be published the stage stops there (``eco_stage_stopped``) and tries again
until the broker takes them: nothing is acknowledged without being processed or
dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import itertools
import random
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

import faust
import structlog
from aiokafka.errors import KafkaError
from faust import streams as faust_streams

from pipeline import events
from pipeline.app import table_options
from pipeline.errors import DependencyUnavailable, EcoError, PermanentError, is_retryable
from pipeline.events import Envelope
from pipeline.metrics import (
    APPLICATIONS_BY_VERDICT,
    CERTIFICATES_ISSUED,
    STAGE_BATCH_SIZE,
    STAGE_EVENTS,
    STAGE_PHASE_SECONDS,
    STAGE_SECONDS,
    STAGE_STOPPED,
    record_alert,
    record_deadletter,
    stage_installed,
)
from pipeline.settings import Settings
from pipeline.stages import Document, Emit, Note, Output, Plain, Transition
from pipeline.stages.alerts import derived_id

__all__ = [
    "Batch",
    "Stage",
    "derived_id",
    "headers_of",
    "json_table",
    "publish_now",
    "raw_topic",
    "run_stage",
]

S = TypeVar("S")
Headers = list[tuple[str, bytes]]
Record = tuple[str, bytes | None, bytes | None, Headers]  # topic, key, value, headers
MAX_BACKOFF = 10.0
CLIENT_STOP_SECONDS = 5.0
QUIET_AFTER = 0.1
"""Seconds without a batch after which a stage is quiet: its next event is taken at once,
without waiting for others to join it (``ECO_BATCH_WINDOW_MS``)."""
_DELETED = object()


_TOPICS: dict[tuple[int, str], faust.TopicT] = {}


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    """A topic whose keys and values are bytes: the frame does its own (Avro) decoding. Made
    once per app and name (every output of every batch is sent through one)."""
    key = (id(app), name)
    topic = _TOPICS.get(key)
    if topic is None or topic.app is not app:
        topic = _TOPICS[key] = app.topic(name, key_type=bytes, value_type=bytes,
                                         key_serializer="raw", value_serializer="raw")
    return topic


def json_table(app: faust.App, settings: Settings, name: str, default: Callable[[], Any]
               ) -> Any:
    """A Kafka-backed table of plain JSON values keyed by string (application id or office),
    in the configured store (RocksDB by default)."""
    options = table_options(settings) if settings.store.startswith("rocksdb") else None
    return app.Table(name, default=default, partitions=settings.kafka_partitions,
                     options=options)


_COLLECTED: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "eco_changelog_collected", default=None)
_WATCHED: contextvars.ContextVar[list[Any] | None] = contextvars.ContextVar(
    "eco_changelog_watched", default=None)


def route_changelog(producer: Any) -> None:
    """Let the frame see the changelog records of table writes (once per producer). Within
    :meth:`Batch.apply` (this task only) a record is collected for the frame to send itself,
    instead of joining Faust's producer buffer; while a transition is decided, the records of
    tables written outside the overlay (the delivery runner's schedule) join the buffer as
    usual and the batch waits for them too. Elsewhere nothing changes."""
    buffered = getattr(producer, "send_soon", None)
    if buffered is None or getattr(producer, "_eco_routed", False):
        return

    def send_soon(pending: Any) -> None:
        collected = _COLLECTED.get()
        if collected is not None:
            collected.append(pending)
            return
        buffered(pending)
        watched = _WATCHED.get()
        if watched is not None:
            watched.append(pending)

    producer.send_soon = send_soon
    producer._eco_routed = True


def writing_for(event: Any) -> None:
    """Make ``event`` the one Faust's tables write for: a table's changelog record goes to the
    partition of the event being processed, and a batch holds events of several partitions."""
    faust_streams._current_event.set(weakref.ref(event))


def stored_value(table: Any, key: Any) -> Any:
    """``table``'s value for ``key``, or None when it holds none (or an empty one). A Faust
    table is read from its store in one lookup: its own ``get`` asks the store whether it
    holds the key, then for the value (two RocksDB reads, each encoding the key again), and
    the stages read once or more per event."""
    store = getattr(table, "data", None)
    if store is None:
        value = table.get(key)
    else:
        try:
            value = store[key]
        except KeyError:
            return None
    return value if value else None


class Batch:
    """The tables as one batch's transitions see them: reads fall through to the table,
    writes stay here until the frame writes them, in order, once the batch is decided."""

    def __init__(self, tables: dict[str, Any]) -> None:
        self._tables = tables
        self.watched: list[Any] = []  # buffered records of the batch's other writes
        self.committed: list[Callable[[], None]] = []  # once the batch is in Kafka
        self._writes: dict[tuple[str, Any], tuple[Any, Any]] = {}
        self.current: Any = None  # the Faust event being decided

    def get(self, table: str, key: Any) -> Any:
        found = self._writes.get((table, key))
        if found is not None:
            return None if found[0] is _DELETED else found[0]
        return stored_value(self._tables[table], key)

    def when_committed(self, then: Callable[[], None]) -> None:
        """Call ``then`` once this batch's outputs and tables are in Kafka, before its records
        are acknowledged (not at all when the batch is processed again)."""
        self.committed.append(then)

    def stored(self, table: str, key: Any) -> Any:
        """The value the table held before this batch."""
        return stored_value(self._tables[table], key)

    def put(self, table: str, key: Any, value: Any) -> None:
        self._writes[(table, key)] = (_DELETED if value is None else value, self.current)

    def apply(self, tables: Iterable[str]) -> list[Any]:
        """Write this batch's values of ``tables`` (each for the event that decided it). The
        changelog records of these writes are returned (Faust's pending messages, in order)
        instead of joining Faust's producer buffer: the frame sends them itself and waits for
        exactly them (:func:`send_changelog`; :func:`route_changelog` must be installed). The
        buffer is drained by one background task a record at a time, behind every other
        stage's writes, and its ``flush`` gives up after 0.1 s without progress with records
        still in it."""
        names = set(tables)
        changelog: list[Any] = []
        token = _COLLECTED.set(changelog)
        try:
            for (table, key), (value, event) in self._writes.items():
                if table not in names:
                    continue
                writing_for(event)
                if value is _DELETED:
                    if key in self._tables[table]:
                        del self._tables[table][key]
                else:
                    self._tables[table][key] = value
        finally:
            _COLLECTED.reset(token)
        return changelog


@dataclass(frozen=True)
class Stage(Generic[S]):
    """One stage's wiring: its topics, its tables, and how an event's state is read from the
    batch, decided and written back. ``durable`` tables are written, and acknowledged by the
    broker, before the other tables and before any output; ``on_failure`` may turn a
    permanent failure into a state change plus a dead letter."""

    name: str
    topics: Sequence[str]
    tables: dict[str, Any]
    load: Callable[[Envelope, Batch], S]
    decide: Callable[[S, Envelope, datetime], Transition[S] | Awaitable[Transition[S]]]
    save: Callable[[Envelope, S, Batch], None]
    on_failure: Callable[[S, Envelope, str], Transition[S] | None] | None = None
    durable: Sequence[str] = ()
    # Tables written only once everything else of the batch (outputs, other tables) is
    # acknowledged, each event's state told first where its outputs are (``located``, with
    # their positions ``topic:partition:offset`` in order): a record there points at what the
    # log holds instead of copying it.
    after: Sequence[str] = ()
    located: Callable[[Envelope, Sequence[str], Batch], None] | None = None
    keyed_by_subject: bool = True
    store: Callable[[Sequence[Document]], None] | None = None
    batch_max: int | None = None  # fewer than ECO_BATCH_MAX events per batch


@dataclass
class _Item:
    event: Any
    envelope: Envelope | None = None
    error: BaseException | None = None
    records: list[Record] = field(default_factory=list)
    attempts: int = 0


def run_stage(app: faust.App, settings: Settings, stage: Stage[Any],
              client: Callable[[Settings, str], Awaitable[Any]] | None = None) -> None:
    """Register ``stage`` as a Faust agent (concurrency 1, faust-streaming #606) over its
    topics, applying its transitions in batches; it publishes through a Kafka producer of its
    own (``client``, by default :func:`stage_client`)."""
    make_client = client or stage_client
    source = app.topic(*stage.topics, key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw")
    log = structlog.get_logger("eco.stage").bind(stage=stage.name)
    stage_installed(stage.name, stage.topics)  # metrics: the stage's series at zero
    batch_max = max(1, min(settings.batch_max, stage.batch_max or settings.batch_max))

    async def agent(stream: faust.StreamT[bytes]) -> None:
        manual: Any = cast(Any, stream).noack()  # acknowledged here, batch by batch
        ready: asyncio.Queue[Any] = asyncio.Queue(maxsize=batch_max)
        route_changelog(app.producer)  # once: the frame sends its tables' records itself
        client = await _started_client(make_client, settings, stage.name, log)

        filled = asyncio.Event()  # a whole batch is ready
        window = settings.batch_window_ms / 1000
        last_batch = float("-inf")  # loop time the last batch ended

        async def feed() -> None:
            async for event in manual.events():
                await ready.put(event)
                if ready.qsize() + 1 >= batch_max:
                    filled.set()

        feeder = asyncio.ensure_future(feed())
        loop = asyncio.get_running_loop()
        try:
            while (first := await _next(ready, feeder)) is not None:
                if window and loop.time() - last_batch < QUIET_AFTER:
                    await _gather(ready, filled, batch_max, window)
                batch = [first]
                while len(batch) < batch_max and not ready.empty():
                    batch.append(ready.get_nowait())
                current = [e for e in batch if e.message.generation_id
                           == app.consumer_generation_id]  # as Faust skips a revoked read
                if current:
                    await _run(app, settings, stage, log, current, client)
                for done in batch:
                    await manual.ack(done)
                last_batch = loop.time()
        finally:
            feeder.cancel()
            # Whatever it still holds is of batches never acknowledged: read again after a
            # restart. A broker that is gone must not hold the worker's stop.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.stop(), CLIENT_STOP_SECONDS)

    agent.__name__ = agent.__qualname__ = f"{stage.name.replace('-', '_')}_agent"
    app.agent(source, name=f"eco.{stage.name}", concurrency=1)(agent)


def backoff(settings: Settings, tries: int) -> float:
    """Seconds to wait before try ``tries + 1``: doubling from ``ECO_RETRY_BACKOFF``, capped."""
    return float(min(settings.retry_backoff * (2 ** min(tries - 1, 16)), MAX_BACKOFF))


async def _gather(ready: asyncio.Queue[Any], filled: asyncio.Event, batch_max: int,
                  window: float) -> None:
    """Wait up to ``window`` seconds for a whole batch to be ready (one event is taken)."""
    filled.clear()
    if ready.qsize() + 1 < batch_max:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(filled.wait(), window)


async def _next(ready: asyncio.Queue[Any], feeder: asyncio.Future[None]) -> Any:
    """The next event read, or None once the stream has ended (its error is raised)."""
    if not ready.empty():
        return ready.get_nowait()
    getter = asyncio.ensure_future(ready.get())
    await asyncio.wait({getter, feeder}, return_when=asyncio.FIRST_COMPLETED)
    if getter.done():
        return getter.result()
    getter.cancel()
    feeder.result()
    return None


async def _run(app: faust.App, settings: Settings, stage: Stage[Any], log: Any,
               batch: list[Any], client: Any) -> None:
    started = time.perf_counter()
    items = [_decode(event, stage) for event in batch]
    tries = 0
    while True:
        tries += 1
        try:
            await _apply(app, settings, stage, log, items, client)
            STAGE_STOPPED.labels(stage.name).set(0)
            break
        except PermanentError as exc:
            # A record the broker refuses: find its event by taking the batch one at a time.
            if len(items) > 1:
                for item in items:
                    await _run(app, settings, stage, log, [item.event], client)
                return
            items[0].envelope, items[0].error = None, exc
            continue
        except Exception as exc:
            if not is_retryable(exc):
                raise
            STAGE_EVENTS.labels(stage.name, "retried").inc(len(items))
            delay = backoff(settings, tries) * (1 + random.random() / 2)
            if tries >= settings.retry_attempts:
                STAGE_STOPPED.labels(stage.name).set(1)
            log.warning("batch_retry" if tries < settings.retry_attempts else "stage_stopped",
                        attempt=tries, delay_s=round(delay, 3), events=len(items),
                        error=type(exc).__name__, reason=str(exc))
            await asyncio.sleep(delay)
    elapsed = time.perf_counter() - started
    STAGE_BATCH_SIZE.labels(stage.name).observe(len(items))
    for _ in items:
        STAGE_SECONDS.labels(stage.name).observe(elapsed / len(items))


def _decode(event: Any, stage: Stage[Any]) -> _Item:
    message = event.message
    try:
        key = message.key if stage.keyed_by_subject else None
        return _Item(event, envelope=events.from_record(key, message.value, headers_of(message)))
    except EcoError as exc:
        return _Item(event, error=exc)


async def _apply(app: faust.App, settings: Settings, stage: Stage[Any], log: Any,
                 items: list[_Item], client: Any) -> None:
    batch = Batch(stage.tables)
    documents: list[Document] = []
    records: list[Record] = []
    reports: list[Callable[[], None]] = []  # logs and counts: once the batch is committed
    placed: list[tuple[_Item, int, int]] = []  # an event's outputs: records[start:end]
    now = datetime.now(UTC)
    started = time.perf_counter()
    for item in items:
        message = item.event.message
        item_log = log.bind(topic=message.topic, partition=message.partition,
                            offset=message.offset)
        if item.envelope is None:
            records.append(_dead_letter(stage, item, item.error or ValueError("undecodable")))
            reports.append(functools.partial(_deadlettered, stage, item_log, item.error))
            continue
        envelope = item.envelope
        item_log = item_log.bind(application_id=envelope.subject, ce_id=envelope.id,
                                 ce_type=envelope.type)
        batch.current = item.event
        writing_for(item.event)
        state: Any = _DELETED
        failure: BaseException | None = None
        watching = _WATCHED.set(batch.watched)
        try:
            state = stage.load(envelope, batch)
            decided = stage.decide(state, envelope, now)
            transition = await decided if inspect.isawaitable(decided) else decided
            item.records = [_record(output) for output in transition.outputs]
            stage.save(envelope, transition.state, batch)
        except Exception as exc:
            item.attempts += 1
            if is_retryable(exc) and item.attempts < settings.retry_attempts:
                raise
            reason = _reason(exc)
            fallback = (stage.on_failure(state, envelope, reason)
                        if stage.on_failure and state is not _DELETED else None)
            if fallback is None:
                records.append(_dead_letter(stage, item, exc))
                reports.append(STAGE_EVENTS.labels(stage.name, "failed").inc)
                reports.append(functools.partial(_deadlettered, stage, item_log, exc))
                continue
            transition, item.records, failure = fallback, [], exc
            stage.save(envelope, transition.state, batch)
        finally:
            _WATCHED.reset(watching)
        documents.extend(transition.documents)
        if stage.located is not None and item.records:
            placed.append((item, len(records), len(records) + len(item.records)))
        records.extend(item.records)
        if transition.dead_letter is not None:
            failure = failure or PermanentError(transition.dead_letter)
            records.append(_dead_letter(stage, item, failure))
            reports.append(functools.partial(_deadlettered, stage, item_log, failure))
        reports.append(functools.partial(_report, stage, item_log, transition.notes))
    phases = [("decide", started)]
    positions = await _commit(client, stage, batch, documents, records, phases)
    if stage.located is not None:
        for item, start, end in placed:
            batch.current = item.event
            assert item.envelope is not None
            stage.located(item.envelope, positions[start:end], batch)
    if stage.after:
        phases.append(("after", time.perf_counter()))
        await _commit_after(client, stage, batch)
    phases.append(("", time.perf_counter()))
    for then in batch.committed:
        then()
    for (phase, begun), (_, ended) in itertools.pairwise(phases):
        STAGE_PHASE_SECONDS.labels(stage.name, phase).observe(ended - begun)
    for report in reports:  # a batch tried again (a send failed) is reported once
        report()


def _report(stage: Stage[Any], log: Any, notes: Sequence[Note]) -> None:
    for note in notes:
        getattr(log, note.level)(note.event, **note.fields)
        count(note.event, note.fields)
    STAGE_EVENTS.labels(stage.name, "processed").inc()
    log.info("event_processed")  # one line per event per stage, context bound


async def _commit(client: Any, stage: Stage[Any], batch: Batch,
                  documents: list[Document], records: list[Record],
                  phases: list[tuple[str, float]]) -> list[str]:
    """Write the batch's state, durable tables first (and wait for them); store its
    documents; publish. The positions of the records published, in order. Each phase's
    start is added to ``phases``."""
    try:
        durable = batch.apply(stage.durable)
        if durable:
            phases.append(("durable", time.perf_counter()))
            await send_changelog(client, durable)
            await acknowledged(client, durable)
        phases.append(("publish", time.perf_counter()))
        changelog = batch.apply(
            [t for t in stage.tables if t not in stage.durable and t not in stage.after])
        await send_changelog(client, changelog)
        # The documents are written in an executor while the outputs go out (a thread's file
        # writes wait for the event loop's thread to let go of the interpreter, so they take
        # longer than the broker's acknowledgements); the batch waits for both.
        stored = (asyncio.get_running_loop().run_in_executor(None, stage.store, documents)
                  if documents and stage.store is not None else None)
        try:
            # The tables' records and the outputs go out together and are waited for
            # together: the batch is acknowledged only once its state is durable too, and the
            # next batch finds this one's records durable (the issuer forgets a serial's
            # holder only then).
            return await publish(client, records, also=[*changelog, *batch.watched])
        finally:
            if stored is not None:
                await stored
    except KafkaError as exc:
        raise _publish_error(exc) from exc


async def _commit_after(client: Any, stage: Stage[Any], batch: Batch) -> None:
    """Write the tables that follow everything else (the certificates' records, once their
    events are acknowledged), and wait for them: the batch is acknowledged only once they
    are durable."""
    try:
        changelog = batch.apply(stage.after)
        await send_changelog(client, changelog)
        await acknowledged(client, changelog)
    except KafkaError as exc:
        raise _publish_error(exc) from exc


async def stage_client(settings: Settings, stage: str) -> Any:
    """A Kafka producer of the stage's own (started), for its outputs, dead letters and
    table records. The Kafka client keeps one request in flight per connection: on Faust's one
    producer every stage's batch waited behind the others' requests (the issuer's one serial
    block behind a megabyte of certificates), so each stage has its connection, and the
    broker works on their requests side by side. As Faust's: ``acks=all``, the worker's
    linger and batch size (not idempotent: a batch the broker refuses, as a write the ACLs
    deny, must leave the client usable for the retries; the stages de-duplicate), and the
    security of every client (``pipeline.kafkaclient``)."""
    from aiokafka import AIOKafkaProducer

    from pipeline.app import PRODUCER_BATCH_BYTES
    from pipeline.kafkaclient import client_options

    client = AIOKafkaProducer(**client_options(settings.kafka_bootstrap, settings),
                              client_id=f"{settings.app_id}-{stage}", acks="all",
                              linger_ms=settings.kafka_linger_ms,
                              max_batch_size=PRODUCER_BATCH_BYTES)
    try:
        await client.start()
    except BaseException:
        await client.stop()
        raise
    return client


async def _started_client(make: Callable[[Settings, str], Awaitable[Any]], settings: Settings,
                          stage: str, log: Any) -> Any:
    """The stage's producer, started; tried again (with back-off) while the broker cannot be
    reached, so a stage never ends for want of one."""
    tries = 0
    while True:
        try:
            return await make(settings, stage)
        except (KafkaError, OSError) as exc:
            tries += 1
            delay = backoff(settings, tries)
            log.warning("stage_client_unavailable", attempt=tries, delay_s=round(delay, 3),
                        error=type(exc).__name__, reason=str(exc))
            await asyncio.sleep(delay)


def faust_client(app: faust.App) -> Any:
    """The Kafka producer under Faust's (for events published outside a batch)."""
    return cast(Any, app.producer)._ensure_producer()


async def send_changelog(client: Any, changelog: Sequence[Any]) -> None:
    """Hand the tables' changelog records (Faust's pending messages, key and value already
    serialized, partition chosen) to ``client``, in order, without waiting for the broker;
    each pending message is resolved with its record's metadata once the broker has it, and
    its callback called (the table's, which keeps the offset RocksDB has)."""
    for pending in changelog:
        message = pending.message
        headers = message.headers or None
        if isinstance(headers, Mapping):
            headers = list(headers.items()) or None
        sent = await client.send(message.channel.get_topic_name(), message.value,
                                 key=message.key, partition=message.partition,
                                 headers=headers)
        sent.add_done_callback(functools.partial(_changelog_sent, pending))


def _changelog_sent(pending: Any, sent: asyncio.Future[Any]) -> None:
    if pending.done():
        return
    if sent.cancelled():
        pending.cancel()
    elif sent.exception() is not None:
        pending.set_exception(sent.exception())
    else:
        pending.set_result(sent.result())
        if pending.message.callback:
            pending.message.callback(pending)


async def acknowledged(client: Any, pending: Sequence[Any]) -> list[Any]:
    """Send what ``client`` holds at once and wait for every one of ``pending``; the first
    failure is raised once all have an outcome."""
    send_now(client)
    outcomes = await asyncio.gather(*pending, return_exceptions=True) if pending else []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


def _publish_error(exc: KafkaError) -> EcoError:
    if getattr(exc, "retriable", True) is False and "TooLarge" in type(exc).__name__:
        return PermanentError(f"a record the broker refuses: {exc}")
    return DependencyUnavailable(f"cannot publish: {type(exc).__name__}: {exc}")


async def publish(client: Any, records: Sequence[Record],
                  also: Sequence[Any] = ()) -> list[str]:
    """Send every record through ``client`` (a Kafka producer) without waiting for each; then
    wait for all acknowledgements, and for those of ``also`` (changelog records already handed
    to a client). Where each record went (``topic:partition:offset``), in order."""
    pending = []
    for topic, key, value, headers in records:
        pending.append(await client.send(topic, value, key=key, headers=headers or None))
    outcomes = await acknowledged(client, [*pending, *also])
    return [f"{o.topic}:{o.partition}:{o.offset}" for o in outcomes[:len(pending)]]


def send_now(producer: Any) -> None:
    """Send what the Kafka client holds without waiting for its linger time
    (``ECO_KAFKA_LINGER_MS``): the frame has sent a whole batch's records and now waits for
    them, so lingering would only delay the batch. aiokafka's own ``flush`` waits out the
    linger; its ``flush_for_commit`` closes the open record batches and wakes the sender,
    which is what is done here, without waiting (aiokafka is pinned below 0.15)."""
    client = getattr(producer, "_producer", producer)  # Faust's, or a Kafka producer
    accumulator = getattr(client, "_message_accumulator", None)
    if accumulator is None:
        return
    for batches in accumulator._batches.values():
        for record_batch in batches:
            record_batch._builder.close()
    waiter = accumulator._waiter_future
    if not waiter.done():
        waiter.set_result(None)


async def publish_now(app: faust.App, envelope: Envelope, topic: str | None = None) -> None:
    """Publish one event outside a batch (a background task's), awaiting the broker's ack."""
    try:
        await publish(faust_client(app), [_record(Emit(envelope, topic=topic))])
    except KafkaError as exc:
        raise _publish_error(exc) from exc


def _record(output: Output) -> Record:
    if isinstance(output, Plain):
        return (output.topic, output.key.encode(), output.value, list(output.headers))
    subject, value, headers = events.to_record(output.envelope)
    return (output.topic or events.TOPIC_OF[output.envelope.type],
            output.key.encode() if output.key is not None else subject, value, headers)


def headers_of(message: Any) -> Headers:
    """A record's headers as (name, bytes) pairs, from a Faust message or a Kafka client's
    record (a list or a mapping)."""
    raw = message.headers or []
    items: Iterable[tuple[str, Any]] = raw.items() if isinstance(raw, dict) else raw
    return [(k, v if isinstance(v, bytes) else str(v).encode()) for k, v in items]


def _reason(error: BaseException | None) -> str:
    return (str(error) or type(error).__name__) if error is not None else "undecodable"


def _dead_letter(stage: Stage[Any], item: _Item, error: BaseException | None) -> Record:
    """The original record, untouched, for ``eco.deadletter``, with the reason in headers."""
    message = item.event.message
    headers = [
        *headers_of(message),
        ("eco_dlq_reason", _reason(error).encode()[:4000]),
        ("eco_dlq_error", type(error).__name__.encode()),
        ("eco_dlq_stage", stage.name.encode()),
        ("eco_dlq_topic", str(message.topic).encode()),
        ("eco_dlq_partition", str(message.partition).encode()),
        ("eco_dlq_offset", str(message.offset).encode()),
        ("eco_dlq_attempts", str(item.attempts).encode()),
        ("eco_dlq_time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode()),
    ]
    return (events.DEADLETTER_TOPIC, message.key, message.value, headers)


def _deadlettered(stage: Stage[Any], log: Any, error: BaseException | None) -> None:
    STAGE_EVENTS.labels(stage.name, "deadlettered").inc()
    record_deadletter(stage.name, error or ValueError("undecodable"))  # by reason class
    log.error("event_deadlettered", error=type(error).__name__, reason=_reason(error))


def keyed(table: str, default: Any = None) -> tuple[Callable[[Envelope, Batch], Any],
                                                    Callable[[Envelope, Any, Batch], None]]:
    """The load and save of a stage whose state is one table's value for the event's subject;
    a state equal to ``default`` (or None) removes the key."""

    def load(envelope: Envelope, batch: Batch) -> Any:
        value = batch.get(table, envelope.subject)
        return default if value is None else value

    def save(envelope: Envelope, state: Any, batch: Batch) -> None:
        current = batch.get(table, envelope.subject)
        if state is None or state == default:
            if current is not None:
                batch.put(table, envelope.subject, None)
        elif state != current:
            batch.put(table, envelope.subject, state)

    return load, save


def count(note: str, fields: Mapping[str, Any]) -> None:
    """The domain's counters, from the transitions' log lines."""
    if note == "alert_raised":
        record_alert(fields["kind"], fields.get("country"))
    elif note == "certificate_issued":
        CERTIFICATES_ISSUED.labels(fields["issuing_office"], fields.get("agreement", "")).inc()
    elif note == "application_examined":
        APPLICATIONS_BY_VERDICT.labels(fields.get("agreement", ""), fields["verdict"]).inc()

