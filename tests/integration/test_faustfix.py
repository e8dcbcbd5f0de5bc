"""Each correction of ``pipeline/faustfix.py`` against the real broker and real Faust workers:
records after a rebalance are not skipped, commits pass the offset holes left by transaction
markers and by compaction (no stall, no lag left), and partitions are sought while paused."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from pipeline.services import free_port, stop_session
from tests.integration.harness import REPO, Stack, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


class Probes:
    """Probe workers (``tests/integration/faustfix_probe.py``) of one consumer group."""

    def __init__(self, stack: Stack, topic: str) -> None:
        self.stack, self.topic = stack, topic
        self.group = f"eco-probe-{uuid.uuid4().hex[:8]}"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def out(self, name: str) -> Path:
        return self.stack.home / f"{name}.offsets"

    def start(self, name: str) -> None:
        env = {**self.stack.env, "ECO_APP_ID": self.group, "ECO_KAFKA_PARTITIONS": "4",
               "ECO_WORKER_WEB_PORT": str(free_port())}
        log = (self.stack.home / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.faustfix_probe", self.topic,
             str(self.out(name))], cwd=REPO, env=env, stdout=log, stderr=log,
            start_new_session=True)

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        stop_session(self.procs.pop(name), sig)

    def processed(self) -> set[tuple[int, int]]:
        seen: set[tuple[int, int]] = set()
        for path in self.stack.home.glob("*.offsets"):
            for line in path.read_text().splitlines():
                partition, offset = line.split()
                seen.add((int(partition), int(offset)))
        return seen

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name, signal.SIGKILL)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack.started(tmp_path_factory.mktemp("faustfix")) as stack:
        yield stack


@pytest.fixture
def probes(broker: Stack) -> Iterator[Probes]:
    found = Probes(broker, f"eco.probe-{uuid.uuid4().hex[:8]}")
    for old in broker.home.glob("*.offsets"):
        old.unlink()
    try:
        yield found
    finally:
        found.close()


async def _create(bootstrap: str, topic: str, configs: dict[str, str] | None = None) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(topic, 4, 1,
                                                       topic_configs=configs or {})])
        for name, code, *message in response.topic_errors:
            assert code == 0, f"cannot create {name}: {code} {message}"
    finally:
        await admin.close()


async def _records(bootstrap: str, topic: str) -> set[tuple[int, int]]:
    """(partition, offset) of every committed record of ``topic``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed",
                                enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(4)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        found: set[tuple[int, int]] = set()
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                found.update((r.partition, r.offset) for r in records)
        return found
    finally:
        await consumer.stop()


async def _lag(bootstrap: str, group: str, topic: str) -> int:
    """End offsets minus the group's committed offsets, over the topic's partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in range(4)]
        try:
            committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        except KafkaError:
            return -1  # the group's coordinator is not there yet: unknown
        ends = await consumer.end_offsets(tps)
        return sum(ends[tp] - (committed[tp].offset if tp in committed
                               and committed[tp].offset >= 0 else 0) for tp in tps)
    finally:
        await consumer.stop()
        await admin.close()


async def _transactions(bootstrap: str, topic: str, count: int) -> None:
    """``count`` transactions of one to three records each: a marker after each one."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap,
                                transactional_id=f"probe-{uuid.uuid4().hex[:8]}")
    await producer.start()
    try:
        for i in range(count):
            async with producer.transaction():
                for j in range(1 + i % 3):
                    await producer.send(topic, f"{i}-{j}".encode(), key=f"k{i}".encode())
    finally:
        await producer.stop()


def _settles(stack: Stack, probes: Probes, expected: set[tuple[int, int]], what: str,
             still_there: bool = False) -> None:
    """Wait until every ``expected`` record is processed and the group has no lag; with
    ``still_there``, only those the log still holds (the cleaner may remove more meanwhile)."""
    state: dict[str, object] = {}

    def done() -> bool:
        wanted = expected
        if still_there:
            wanted = expected & asyncio.run(_records(stack.bootstrap, probes.topic))
        missing = sorted(wanted - probes.processed())
        lag = asyncio.run(_lag(stack.bootstrap, probes.group, probes.topic))
        state.update(missing=missing[:20], lag=lag)
        return not missing and lag == 0

    try:
        wait_for(done, 180, what, every=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {state}") from None


def test_transaction_markers_neither_stall_the_commit_nor_leave_lag(
        broker: Stack, probes: Probes) -> None:
    asyncio.run(_create(broker.bootstrap, probes.topic))
    probes.start("a")
    asyncio.run(_transactions(broker.bootstrap, probes.topic, 40))
    records = asyncio.run(_records(broker.bootstrap, probes.topic))
    assert len(records) == sum(1 + i % 3 for i in range(40))
    _settles(broker, probes, records, "every transactional record processed and no lag left")


def test_compaction_holes_neither_stall_the_commit_nor_leave_lag(
        broker: Stack, probes: Probes) -> None:
    configs = {"cleanup.policy": "compact", "segment.ms": "100",
               "min.cleanable.dirty.ratio": "0.001", "min.compaction.lag.ms": "0",
               "delete.retention.ms": "0"}
    asyncio.run(_create(broker.bootstrap, probes.topic, configs))

    async def write(rounds: int) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            for i in range(rounds):
                await producer.send_and_wait(probes.topic, b"x" * 200,
                                             key=f"k{i % 4}".encode(), partition=i % 4)
        finally:
            await producer.stop()

    def compacted() -> bool:
        asyncio.run(write(8))  # new segments, so that the older ones can be cleaned
        offsets = asyncio.run(_records(broker.bootstrap, probes.topic))
        return any((0, o) not in offsets for o in range(max(o for p, o in offsets if p == 0)))

    asyncio.run(write(200))
    wait_for(compacted, 150, "the log cleaner to compact the topic", every=1.0)
    records = asyncio.run(_records(broker.bootstrap, probes.topic))
    probes.start("a")
    _settles(broker, probes, records, "every record left by compaction processed, no lag",
             still_there=True)


def test_records_after_rebalances_are_not_skipped(broker: Stack, probes: Probes) -> None:
    """A second worker joins and then leaves, then is killed after rejoining, in the middle of
    a steady stream: the partitions are sought while paused each time, nothing is skipped."""
    asyncio.run(_create(broker.bootstrap, probes.topic))
    probes.start("a")
    stop = threading.Event()

    async def steady() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            i = 0
            while not stop.is_set() and i < 3000:
                await producer.send_and_wait(probes.topic, str(i).encode(),
                                             key=f"k{i}".encode())
                i += 1
                await asyncio.sleep(0.01)  # a steady rate of about 100 records/s
        finally:
            await producer.stop()

    writer = threading.Thread(target=lambda: asyncio.run(steady()))
    writer.start()
    try:
        wait_for(lambda: len(probes.processed()) > 100, 90, "the first worker to process")
        probes.start("b")
        wait_for(lambda: probes.out("b").exists() and probes.out("b").stat().st_size > 0,
                 120, "the second worker to get partitions")
        probes.stop("b")
        seen = len(probes.processed())
        wait_for(lambda: len(probes.processed()) > seen + 100, 90, "progress after b left")
        probes.start("c")
        wait_for(lambda: probes.out("c").exists() and probes.out("c").stat().st_size > 0,
                 120, "a third worker to get partitions")
        probes.stop("c", signal.SIGKILL)
    finally:
        stop.set()
        writer.join(timeout=60)
    records = asyncio.run(_records(broker.bootstrap, probes.topic))
    _settles(broker, probes, records, "every record processed after the rebalances, no lag")
