"""Real services for the integration tests: a Kafka broker, the sandbox customs and eco
workers, each a real process, started on free ports under a temporary directory. The sandbox
customs serves HTTPS and requires the worker's client certificate (the development TLS under
``ECO_DATA_DIR/tls``), and signs its responses with the development customs keys.

One clock, as in production: the stack examines each application as of the day of its event
and dates its certificate by the same moment (no ``ECO_EXAMINATION_DATE``). ``SAMPLES`` is
therefore the directory of ``samples/`` with every date moved to today (``pipeline.clock``),
as the demo does, so the samples' journeys do not change with the calendar."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from pipeline import events, feeds
from pipeline.clock import moved_to
from pipeline.errors import UndecodableEvent
from pipeline.localkafka import LocalKafka, broker_address
from pipeline.services import Services, answers, free_port

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
SAMPLES_AS_WRITTEN = REPO / "samples"


def samples_for(day: date) -> Path:
    """``samples/`` with the dates of every application moved so that it is examined on
    ``day`` as it was written for (``pipeline.clock.moved_to``); made once per day under
    ``.eco/test-samples/``, the other files copied as they are."""
    target = REPO / ".eco" / "test-samples" / day.isoformat()
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{day}-"))
    for path in sorted(SAMPLES_AS_WRITTEN.iterdir()):
        if path.suffix == ".json":
            document = moved_to(json.loads(path.read_text(encoding="utf-8")), day)
            (staging / path.name).write_text(
                json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        elif path.is_file():
            shutil.copy2(path, staging / path.name)
    try:
        staging.rename(target)
    except OSError:  # another test process made it first
        shutil.rmtree(staging, ignore_errors=True)
    return target


SAMPLES = samples_for(datetime.now(UTC).date())


def days_from_today(days: int) -> str:
    """The UTC day ``days`` from today (negative: before), as YYYY-MM-DD: for dates a test
    writes beside the samples (validity, review), so they keep their place relative to them."""
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def wait_for(condition: Callable[[], T], timeout: float, what: str, every: float = 0.2) -> T:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)  # polling interval of a deadline-bounded wait, not synchronisation


@dataclass
class Stack:
    """A broker plus sandbox customs plus workers sharing one environment."""

    home: Path
    env: dict[str, str]
    kafka: LocalKafka
    services: Services

    @classmethod
    def create(cls, home: Path, overrides: Mapping[str, str] | None = None) -> Stack:
        broker, controller = free_port(), free_port()
        web, sandbox, receiver = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            "ECO_DATA_DIR": str(home / "data"),
            "ECO_KAFKA_BOOTSTRAP": f"127.0.0.1:{broker}",
            "ECO_KAFKA_CONTROLLER_PORT": str(controller),
            "ECO_APP_ID": "eco-test",
            "ECO_WORKER_WEB_PORT": str(web),
            "ECO_SANDBOX_PORT": str(sandbox),
            "ECO_SANDBOX_URL": f"https://127.0.0.1:{sandbox}",
            "ECO_RECEIVER_PORT": str(receiver),
            "ECO_RECONCILE_AFTER": "5s",
            "ECO_RECONCILE_EVERY": "1s",
            "ECO_RESPONSE_DEADLINE": "6s",
            "ECO_DEADLINE_CHECK_EVERY": "0.5s",
            "ECO_RETRY_BACKOFF": "0.1s",
            "ECO_RETRY_ATTEMPTS": "4",
            "ECO_DEV_PKI": "true",
            **(overrides or {}),
        }
        kafka = LocalKafka(
            broker_address(env["ECO_KAFKA_BOOTSTRAP"], str(controller)),
            home / "data" / "kafka",
            env=env,
        )
        return cls(home=home, env=env, kafka=kafka, services=Services(home / "logs", env))

    @classmethod
    @contextmanager
    def started(cls, home: Path, overrides: Mapping[str, str] | None = None
                ) -> Iterator[Stack]:
        """A stack with its broker started; every process it started is stopped on exit."""
        stack = cls.create(home, overrides)
        try:
            stack.start_kafka()
            yield stack
        finally:
            stack.close()

    @property
    def bootstrap(self) -> str:
        return self.env["ECO_KAFKA_BOOTSTRAP"]

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.env['ECO_WORKER_WEB_PORT']}"

    @property
    def data_dir(self) -> Path:
        return Path(self.env["ECO_DATA_DIR"])

    def credentials(self) -> None:
        """The development TLS and customs keys, made once before any process needs them."""
        from connectors.customs.sandbox import SANDBOX_COUNTRIES
        from connectors.customs.signatures import generate_customs_keys
        from connectors.customs.tls import generate_dev_tls

        generate_dev_tls(self.data_dir / "tls")
        generate_customs_keys(self.data_dir / "customs", SANDBOX_COUNTRIES)

    def start_kafka(self) -> float:
        return self.kafka.start()

    def _spawn(self, name: str, *args: str, env: Mapping[str, str] | None = None
               ) -> subprocess.Popen[bytes]:
        return self.services.start(name, *args, env=env)

    def start_sandbox(self, *options: str) -> None:
        """Start the sandbox customs; ``options`` are more ``eco sandbox-customs`` options."""
        self.credentials()
        self._spawn("sandbox", "sandbox-customs", "--delay", "0.3", *options)
        port = self.env["ECO_SANDBOX_PORT"]
        wait_for(lambda: _port_open(int(port)), 30, "the sandbox customs")

    @property
    def receiver_url(self) -> str:
        return f"http://127.0.0.1:{self.env['ECO_RECEIVER_PORT']}"

    def start_receiver(self, timeout: float = 60) -> None:
        """Start the callback receiver (and its reconciliation poller) and wait until ready."""
        self.credentials()
        proc = self.services.start_receiver()

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"receiver exited with {proc.returncode}:\n"
                                     f"{self.log('receiver')}")
            return answers(f"{self.receiver_url}/readyz")

        wait_for(ready, timeout, "the callback receiver to be ready")

    def start_worker(self, name: str = "worker", *stages: str, timeout: float = 120,
                     web_port: int | None = None) -> None:
        """Start a worker, and the callback receiver beside it if it is not running; another
        ``web_port`` lets several share the consumer group."""
        self.credentials()
        if "receiver" not in self.services.processes:
            self.start_receiver()
        args = ["worker"]
        for stage in stages:
            args += ["--stage", stage]
        port = str(web_port) if web_port is not None else self.env["ECO_WORKER_WEB_PORT"]
        proc = self._spawn(name, *args, env={**self.env, "ECO_WORKER_WEB_PORT": port})

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.log(name)}")
            return answers(f"http://127.0.0.1:{port}/readyz")

        wait_for(ready, timeout, f"{name} to be ready")

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        self.services.stop(name, sig)

    def log(self, name: str) -> str:
        return self.services.log(name)

    def close(self) -> None:
        self.services.stop_all()
        self.kafka.stop()


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def by_id(records: list[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for record in records:
        grouped.setdefault(record.subject, []).append(record)
    return grouped


def group_is_stable(stack: Stack, members: int) -> bool:
    """The consumer group has settled with this many members (no rebalance under way)."""
    async def describe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=stack.bootstrap)
        await admin.start()
        try:
            [group] = await admin.describe_consumer_groups([stack.env["ECO_APP_ID"]])
        finally:
            await admin.close()
        _, _, state, _, _, group_members = group.groups[0][:6]
        return bool(state == "Stable" and len(group_members) == members)

    return asyncio.run(describe())


def eco(stack: Stack, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``eco ARGS...`` against the stack and capture what it prints."""
    return subprocess.run([sys.executable, "-m", "pipeline", *args], env=stack.env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def read_all(stack: Stack, topic: str) -> list[Any]:
    """Every record of ``topic`` so far, raw."""
    async def collect() -> list[Any]:
        return [r async for r in feeds.read_topic(stack.bootstrap, topic)]

    records: list[Any] = asyncio.run(collect())
    return records


def decoded(stack: Stack, topic: str, ids: set[str]) -> list[events.Envelope]:
    """The events of ``topic`` about the applications ``ids``, decoded, in order."""
    found = []
    for record in read_all(stack, topic):
        try:
            envelope = events.from_record(record.key, record.value, list(record.headers))
        except UndecodableEvent:
            continue  # the dead-letter test's garbage: not ours to read
        if envelope.subject in ids:
            found.append(envelope)
    return found


def required_tool(name: str, package: str) -> str:
    """The path of a tool the tests need; a failure naming its Debian package when it is
    missing (``make test`` installs it: deploy/system/install-packages.sh --test)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: install the Debian package {package} "
                    "(deploy/system/install-packages.sh --test)")
    return path


def promtool_accepts(body: bytes) -> str:
    """The exposition ``body`` as text, once ``promtool check metrics`` accepted it."""
    checked = subprocess.run([required_tool("promtool", "prometheus"), "check", "metrics"],
                             input=body, capture_output=True, check=False)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    return body.decode()
