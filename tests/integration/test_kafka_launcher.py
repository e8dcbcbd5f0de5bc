"""The local Kafka launcher against a real broker, in a temporary directory on free ports."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from pipeline import feeds
from pipeline.cli import EXIT_OK, EXIT_UNREACHABLE, main
from pipeline.localkafka import LocalKafka, broker_address, wait_until_answers
from pipeline.topics import create_topics

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

TOPIC = "eco.launcher-test"


def free_ports() -> tuple[int, int]:
    sockets = [socket.socket() for _ in range(2)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        broker, controller = (probe.getsockname()[1] for probe in sockets)
        return broker, controller
    finally:
        for probe in sockets:
            probe.close()


@pytest.fixture
def kafka(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalKafka]:
    """A broker's files under a temporary ECO_DATA_DIR, with the CLI pointed at the same broker."""
    broker, controller = free_ports()
    monkeypatch.setenv("ECO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ECO_KAFKA_BOOTSTRAP", f"127.0.0.1:{broker}")
    monkeypatch.setenv("ECO_KAFKA_CONTROLLER_PORT", str(controller))
    local = LocalKafka(broker_address(f"127.0.0.1:{broker}", str(controller)), tmp_path / "kafka")
    yield local
    local.stop()


async def produce(bootstrap: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC, value, key=key, partition=0)
    finally:
        await producer.stop()


async def read_partition_zero(bootstrap: str) -> list[tuple[bytes | None, bytes | None]]:
    """Every record of partition 0 from the beginning up to its end offset."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(TOPIC, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        records: list[tuple[bytes | None, bytes | None]] = []
        while await consumer.position(partition) < end:
            batch = await consumer.getmany(partition, timeout_ms=10_000)
            records += [(record.key, record.value) for record in batch.get(partition, [])]
        return records
    finally:
        await consumer.stop()


async def read_keys(bootstrap: str, since: dict[int, int] | None) -> list[bytes | None]:
    return [record.key async for record in feeds.read_topic(bootstrap, TOPIC, since=since)]


def test_broker_starts_serves_stops_and_keeps_its_data(
    kafka: LocalKafka, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["kafka", "status"]) == EXIT_UNREACHABLE

    seconds = kafka.start(timeout=90)
    assert 0 < seconds < 90
    assert kafka.is_running()
    wait_until_answers(kafka.bootstrap, timeout=5)
    assert asyncio.run(create_topics(kafka.bootstrap, [TOPIC, TOPIC], partitions=2)) == [TOPIC]
    assert asyncio.run(create_topics(kafka.bootstrap, [TOPIC], partitions=2)) == []
    asyncio.run(produce(kafka.bootstrap, b"APP-1", b"submitted"))
    assert asyncio.run(read_partition_zero(kafka.bootstrap)) == [(b"APP-1", b"submitted")]
    ends = asyncio.run(feeds.end_offsets(kafka.bootstrap, [TOPIC, "eco.not-yet"]))
    assert ends == {TOPIC: {0: 1, 1: 0}, "eco.not-yet": {}}
    since = ends[TOPIC]
    asyncio.run(produce(kafka.bootstrap, b"APP-2", b"submitted"))
    assert asyncio.run(read_keys(kafka.bootstrap, since)) == [b"APP-2"]  # what came since
    assert asyncio.run(read_keys(kafka.bootstrap, None)) == [b"APP-1", b"APP-2"]

    capsys.readouterr()
    assert main(["kafka", "status"]) == EXIT_OK
    assert kafka.bootstrap in capsys.readouterr().out
    assert main(["kafka", "start"]) == EXIT_OK  # idempotent: the running broker is kept
    assert "already running" in capsys.readouterr().out

    server_log = kafka.files.server_log.read_text()
    assert "Kafka Server started" in server_log
    assert "SLF4J" not in kafka.files.console_log.read_text()  # the logging binding was found

    first_pid = kafka.stop()
    assert first_pid is not None
    assert not kafka.is_running()
    assert not kafka.files.pid.exists()
    assert main(["kafka", "status"]) == EXIT_UNREACHABLE
    assert main(["kafka", "stop"]) == EXIT_OK

    cluster_id = kafka.files.cluster_id.read_text()
    assert main(["kafka", "start"]) == EXIT_OK  # through the command line this time
    assert "running at" in capsys.readouterr().out
    assert kafka.pid() not in (None, first_pid)
    assert kafka.files.cluster_id.read_text() == cluster_id
    assert asyncio.run(read_partition_zero(kafka.bootstrap)) == [(b"APP-1", b"submitted"),
                                                                (b"APP-2", b"submitted")]
