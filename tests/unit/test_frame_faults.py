"""The stage frame's failure handling, without a broker: the real agent of ``run_stage`` over
a stream and a producer that fail as Kafka's do. A batch whose outputs or dead letters cannot
be sent is processed again and acknowledged only once the sends succeed (the stage says it is
stopped meanwhile); a permanent failure dead-letters the bad event of a batch and no other."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aiokafka.errors import (
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    TopicAuthorizationFailedError,
)

from agents import frame
from pipeline import events
from pipeline.errors import BusinessRejection
from pipeline.events import Envelope
from pipeline.metrics import STAGE_STOPPED
from pipeline.settings import Settings
from pipeline.stages import Plain, Transition
from pipeline.submission import read_document, submission

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "04-acfta-frozen-fish-vn.json"
OUT = "eco.test-out"


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    generation_id: int = 1


@dataclass(eq=False)
class Event:
    """What the frame reads of a Faust event (weak-referenceable, as Faust's are)."""

    message: Message


@dataclass
class Kafka:
    """The stream and the producer: ``fail(topic, key)`` says which send fails, and how."""

    fail: Callable[[str, bytes | None], BaseException | None] = lambda topic, key: None
    sent: list[tuple[str, bytes | None, bytes | None]] = field(default_factory=list)
    journal: list[tuple[str, Any]] = field(default_factory=list)  # sends and acks, in order
    stopped: list[float] = field(default_factory=list)  # eco_stage_stopped at each failure


class Producer:
    async def flush(self) -> None:
        return None


class App:
    """The part of faust.App the frame uses."""

    def __init__(self, kafka: Kafka) -> None:
        self.kafka = kafka
        self.producer = Producer()
        self.consumer_generation_id = 1
        self.agent_fun: Any = None

    def topic(self, *names: str, **_: Any) -> Any:
        return Topic(self, names[0])

    def agent(self, source: Any, name: str, concurrency: int) -> Callable[[Any], Any]:
        assert concurrency == 1

        def register(fun: Any) -> Any:
            self.agent_fun = fun
            return fun
        return register


@dataclass
class Topic:
    app: App
    name: str


@dataclass
class Client:
    """The stage's Kafka producer: ``Kafka.fail`` says which send fails, and how."""

    kafka: Kafka

    async def send(self, topic: str, value: bytes | None, key: bytes | None = None,
                   partition: int | None = None, headers: Any = None) -> asyncio.Future[Any]:
        kafka = self.kafka
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        error = kafka.fail(topic, key)
        if error is not None:
            kafka.stopped.append(STAGE_STOPPED.labels("faulty")._value.get())
            kafka.journal.append(("failed", (topic, key)))
            done.set_exception(error)
        else:
            kafka.sent.append((topic, key, value))
            kafka.journal.append(("sent", (topic, key)))
            done.set_result(SimpleNamespace(topic=topic, partition=0,
                                            offset=len(kafka.sent) - 1))
        return done

    async def stop(self) -> None:
        self.kafka.journal.append(("client stopped", None))


def install(app: App, settings: Settings, stage: frame.Stage[Any]) -> None:
    """``run_stage`` with the test's Kafka producer."""

    async def client(settings: Settings, name: str) -> Client:
        assert name == stage.name
        return Client(app.kafka)

    frame.run_stage(app, settings, stage, client=client)  # type: ignore[arg-type]


class Stream:
    """A Faust stream without automatic acknowledgement, over a fixed list of events."""

    def __init__(self, kafka: Kafka, batch: list[Event]) -> None:
        self.kafka, self.batch = kafka, batch

    def noack(self) -> Stream:
        return self

    async def events(self) -> AsyncIterator[Event]:
        for event in self.batch:
            yield event

    async def ack(self, event: Event) -> None:
        self.kafka.journal.append(("ack", event.message.offset))


def _record(offset: int, envelope: Envelope | None = None, value: bytes | None = None
            ) -> Event:
    if envelope is None:
        return Event(Message("eco.application", 0, offset, b"poison", value, []))
    key, encoded, headers = events.to_record(envelope)
    return Event(Message("eco.application", 0, offset, key, encoded, headers))


def _applications(count: int) -> list[Envelope]:
    document = read_document(SAMPLE)[0]
    return [submission(document, source="frame", id_suffix=f"-frame-{i}").envelope
            for i in range(count)]


def _run(kafka: Kafka, batch: list[Event], decide: Callable[[Envelope], None] | None = None
         ) -> list[str]:
    """Run the stage's agent over ``batch``; the subjects it decided, in order (again and
    again when the batch was processed again)."""
    decided: list[str] = []

    def transition(state: Any, envelope: Envelope, now: Any) -> Transition[Any]:
        decided.append(envelope.subject)
        if decide is not None:
            decide(envelope)
        return Transition(state, outputs=(Plain(OUT, envelope.subject, b"out"),))

    stage = frame.Stage("faulty", ("eco.application",), {}, load=lambda e, b: None,
                        decide=transition, save=lambda e, s, b: None)
    settings = replace(Settings(), retry_backoff=0.001, retry_attempts=3, batch_max=16)
    app = App(kafka)
    install(app, settings, stage)
    asyncio.run(app.agent_fun(Stream(kafka, batch)))
    return decided


def _acks_after_sends(kafka: Kafka) -> None:
    """Every acknowledgement comes after the last send of the batch, none before."""
    kinds = [kind for kind, _ in kafka.journal]
    first_ack = kinds.index("ack")
    assert "failed" not in kinds[first_ack:] and "sent" not in kinds[first_ack:], kafka.journal


def test_a_failed_output_send_is_processed_again_and_acknowledged_only_once_sent() -> None:
    apps = _applications(3)
    failures = iter([KafkaTimeoutError(), TopicAuthorizationFailedError()] * 3)

    def fail(topic: str, key: bytes | None) -> BaseException | None:
        if topic == OUT and key == apps[1].subject.encode():
            return next(failures, None)
        return None

    kafka = Kafka(fail=fail)
    decided = _run(kafka, [_record(i, a) for i, a in enumerate(apps)])
    subjects = [a.subject for a in apps]
    assert decided == subjects * 7  # six failed tries of the whole batch, then the seventh
    assert [k for k, _ in kafka.journal].count("failed") == 6
    _acks_after_sends(kafka)
    assert [o for kind, o in kafka.journal if kind == "ack"] == [0, 1, 2]
    assert kafka.stopped == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]  # stopped once retries ran out
    assert STAGE_STOPPED.labels("faulty")._value.get() == 0.0  # and no longer once sent
    assert {k for t, k, _ in kafka.sent if t == OUT} == {s.encode() for s in subjects}
    assert kafka.journal[-1] == ("client stopped", None)  # the stage's producer, at the end


def test_a_dead_letter_that_cannot_be_sent_holds_the_batch_unacknowledged() -> None:
    apps = _applications(2)
    refused = iter([TopicAuthorizationFailedError()] * 5)

    def fail(topic: str, key: bytes | None) -> BaseException | None:
        return next(refused, None) if topic == events.DEADLETTER_TOPIC else None

    kafka = Kafka(fail=fail)
    _run(kafka, [_record(0, apps[0]), _record(1, value=b"<xml>not avro</xml>"),
                 _record(2, apps[1])])
    _acks_after_sends(kafka)
    letters = [(k, v) for t, k, v in kafka.sent if t == events.DEADLETTER_TOPIC]
    assert letters == [(b"poison", b"<xml>not avro</xml>")]  # once, when it could be sent
    assert [o for kind, o in kafka.journal if kind == "ack"] == [0, 1, 2]


def test_a_permanent_failure_dead_letters_only_the_bad_event_of_the_batch() -> None:
    apps = _applications(4)

    def decide(envelope: Envelope) -> None:
        if envelope.subject == apps[2].subject:
            raise BusinessRejection("refused for good: the office is closed")

    kafka = Kafka()
    decided = _run(kafka, [_record(i, a) for i, a in enumerate(apps)], decide)
    assert decided == [a.subject for a in apps]  # tried once: a permanent error is not retried
    letters = [k for t, k, _ in kafka.sent if t == events.DEADLETTER_TOPIC]
    assert letters == [apps[2].subject.encode()]
    outputs = [k for t, k, _ in kafka.sent if t == OUT]
    assert outputs == [a.subject.encode() for a in apps if a is not apps[2]]
    assert [o for kind, o in kafka.journal if kind == "ack"] == [0, 1, 2, 3]


def test_a_record_the_broker_refuses_for_its_size_dead_letters_only_its_event() -> None:
    apps = _applications(3)

    def fail(topic: str, key: bytes | None) -> BaseException | None:
        too_large = topic == OUT and key == apps[1].subject.encode()
        return MessageSizeTooLargeError() if too_large else None

    kafka = Kafka(fail=fail)
    _run(kafka, [_record(i, a) for i, a in enumerate(apps)])
    letters = [k for t, k, _ in kafka.sent if t == events.DEADLETTER_TOPIC]
    assert letters == [apps[1].subject.encode()]
    delivered = {k for t, k, _ in kafka.sent if t == OUT}
    assert delivered == {apps[0].subject.encode(), apps[2].subject.encode()}
    _acks_after_sends(kafka)
    assert sorted(o for kind, o in kafka.journal if kind == "ack") == [0, 1, 2]


def test_a_held_dead_letter_is_counted_once() -> None:
    from pipeline.metrics import STAGE_EVENTS

    refused = iter([TopicAuthorizationFailedError()] * 4)
    kafka = Kafka(fail=lambda topic, key: next(refused, None)
                  if topic == events.DEADLETTER_TOPIC else None)
    before = STAGE_EVENTS.labels("faulty", "deadlettered")._value.get()
    _run(kafka, [_record(0, value=b"<xml>not avro</xml>")])
    assert STAGE_EVENTS.labels("faulty", "deadlettered")._value.get() - before == 1


class JournaledTable(dict[str, Any]):
    """A table whose writes go into the journal, in order with the sends and acks."""

    def __init__(self, kafka: Kafka, name: str) -> None:
        super().__init__()
        self.kafka, self.name = kafka, name

    def __setitem__(self, key: str, value: Any) -> None:
        self.kafka.journal.append((f"write {self.name}", key))
        super().__setitem__(key, value)


def test_tables_after_the_outputs_are_written_once_sent_with_where_the_outputs_went() -> None:
    apps = _applications(3)
    kafka = Kafka()
    failures = iter([KafkaTimeoutError()])
    kafka.fail = lambda topic, key: (next(failures, None)
                                     if key == apps[2].subject.encode() else None)
    tables = {"before": JournaledTable(kafka, "before"), "later": JournaledTable(kafka, "later")}

    def transition(state: Any, envelope: Envelope, now: Any) -> Transition[Any]:
        return Transition("decided", outputs=(Plain(OUT, envelope.subject, b"out"),))

    def save(envelope: Envelope, state: Any, batch: frame.Batch) -> None:
        batch.put("before", envelope.subject, state)
        batch.put("later", envelope.subject, {"at": None})

    def located(envelope: Envelope, positions: Any, batch: frame.Batch) -> None:
        batch.put("later", envelope.subject, {"at": list(positions)})

    stage = frame.Stage("faulty", ("eco.application",), tables, load=lambda e, b: None,
                        decide=transition, save=save, after=("later",), located=located)
    settings = replace(Settings(), retry_backoff=0.001, retry_attempts=3, batch_max=16)
    app = App(kafka)
    install(app, settings, stage)
    asyncio.run(app.agent_fun(Stream(kafka, [_record(i, a) for i, a in enumerate(apps)])))
    kinds = [kind for kind, _ in kafka.journal]
    failed = kinds.index("failed")
    assert "write later" not in kinds[:failed]  # nothing recorded for a batch not yet sent
    last_send = max(i for i, kind in enumerate(kinds) if kind == "sent")
    first_later = kinds.index("write later")
    assert first_later > last_send and kinds.index("ack") > max(
        i for i, kind in enumerate(kinds) if kind == "write later")
    sent = [k for t, k, _ in kafka.sent]
    for app_ in apps:  # the position of the send that went through, the retry's
        position = len(sent) - 1 - sent[::-1].index(app_.subject.encode())
        assert tables["later"][app_.subject] == {"at": [f"{OUT}:0:{position}"]}


def test_what_waits_for_the_commit_runs_once_the_batch_is_in_kafka_never_for_a_failed_try(
        ) -> None:
    apps = _applications(3)
    failures = iter([KafkaTimeoutError(), KafkaTimeoutError()])

    def fail(topic: str, key: bytes | None) -> BaseException | None:
        return next(failures, None) if key == apps[1].subject.encode() else None

    kafka = Kafka(fail=fail)

    def save(envelope: Envelope, state: Any, batch: frame.Batch) -> None:
        batch.when_committed(lambda: kafka.journal.append(("committed", envelope.subject)))

    stage = frame.Stage("faulty", ("eco.application",), {}, load=lambda e, b: None,
                        decide=lambda s, e, n: Transition(s, outputs=(
                            Plain(OUT, e.subject, b"out"),)),
                        save=save)
    settings = replace(Settings(), retry_backoff=0.001, retry_attempts=5, batch_max=16)
    app = App(kafka)
    install(app, settings, stage)
    asyncio.run(app.agent_fun(Stream(kafka, [_record(i, a) for i, a in enumerate(apps)])))

    kinds = [kind for kind, _ in kafka.journal]
    assert kinds.count("failed") == 2  # two tries of the batch failed, the third went through
    committed = [subject for kind, subject in kafka.journal if kind == "committed"]
    assert committed == [a.subject for a in apps]  # once each, of the try that went through
    first, last = kinds.index("committed"), len(kinds) - 1 - kinds[::-1].index("committed")
    assert "sent" not in kinds[first:] and "failed" not in kinds[first:]
    assert kinds[last + 1:] == ["ack", "ack", "ack", "client stopped"]
