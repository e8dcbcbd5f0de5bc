"""End-to-end throughput against a real broker: a private Kafka broker, the sandbox customs and
a worker, each a real process on free ports under a temporary directory, stopped at the end.

Two figures come from the same run so that they can be read as a ratio on a noisy machine:
the bare produce rate (the submissions written to a scratch topic the way ``feeds.publish``
writes, one acknowledged record at a time) and the pipeline rate (from submitting until every
application is ACCEPTED by the sandbox customs).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from pipeline import events, feeds
from pipeline.errors import DependencyUnavailable
from pipeline.events import Envelope
from pipeline.localkafka import LocalKafka, broker_address, ensure_topics, tail
from pipeline.states import SETTLED, State
from pipeline.submission import read_document, submission

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BENCH_SAMPLES = ("01-rcep-led-luminaires-vn.json", "04-acfta-frozen-fish-vn.json")
"""Two applications the sandbox customs accepts: one RCEP, one ACFTA (Form E)."""
SCRATCH_TOPIC = "eco.bench.produce"
SANDBOX_DELAY = "0.05"


@dataclass(frozen=True)
class StackPorts:
    """The four ports of one benchmark stack."""

    broker: int
    controller: int
    web: int
    sandbox: int


@dataclass(frozen=True)
class PipelineFigures:
    """What one end-to-end run measured."""

    applications: int
    accepted: int
    broker_start_seconds: float
    produce_seconds: float
    end_to_end_seconds: float

    @property
    def produce_per_second(self) -> float:
        return self.applications / self.produce_seconds

    @property
    def applications_per_second(self) -> float:
        return self.accepted / self.end_to_end_seconds


def stack_environment(base: Mapping[str, str], home: Path, ports: StackPorts) -> dict[str, str]:
    """The environment of every process of the stack: ``base`` with the stack's own data
    directory, ports and a one-hour response deadline, so no deadline alert fires mid-run."""
    return {
        **base,
        "ECO_DATA_DIR": str(home / "data"),
        "ECO_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports.broker}",
        "ECO_KAFKA_CONTROLLER_PORT": str(ports.controller),
        "ECO_APP_ID": "eco-bench",
        "ECO_WORKER_WEB_PORT": str(ports.web),
        "ECO_SANDBOX_PORT": str(ports.sandbox),
        "ECO_SANDBOX_URL": f"http://127.0.0.1:{ports.sandbox}",
        "ECO_CALLBACK_URL": f"http://127.0.0.1:{ports.web}",
        "ECO_RESPONSE_DEADLINE": "1h",
        "ECO_EXAMINATION_DATE": "2026-05-20",  # the samples ship from May 2026
    }


def bench_envelopes(count: int, run_id: str, samples: Path = SAMPLES) -> list[Envelope]:
    """``count`` submissions alternating between the bench samples, each with its own
    application id (``<sample id>-bench-<run_id>-<n>``)."""
    documents = [read_document(samples / name)[0] for name in BENCH_SAMPLES]
    return [
        submission(documents[n % len(documents)], source="eco bench", via="CLI",
                   id_suffix=f"-bench-{run_id}-{n}").envelope
        for n in range(count)
    ]


def accepted(status: Mapping[str, object]) -> bool:
    """True once the importing customs accepted the certificate."""
    return status.get("state") == State.ACCEPTED.value


def settled(status: Mapping[str, object]) -> bool:
    """True once the journey stopped moving by itself (ACCEPTED is one such state)."""
    return str(status.get("state")) in {state.value for state in SETTLED}


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def produce(bootstrap: str, topic: str, envelopes: Sequence[Envelope]) -> float:
    """Write the envelopes' records to ``topic`` as ``feeds.publish`` does (acks=all,
    idempotent, each record acknowledged before the next); the seconds the records took,
    connecting excluded."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                enable_idempotence=True, request_timeout_ms=15000)
    try:
        await producer.start()
        started = time.perf_counter()
        for envelope in envelopes:
            key, value, headers = events.to_record(envelope)
            await producer.send_and_wait(topic, value, key=key, headers=headers)
    except KafkaError as exc:
        raise DependencyUnavailable(f"cannot produce to {bootstrap}: {exc}") from exc
    finally:
        await producer.stop()
    return time.perf_counter() - started


class BenchStack:
    """The broker, the sandbox customs and one worker of a benchmark run."""

    def __init__(self, home: Path, env: Mapping[str, str]) -> None:
        self.home = home
        self.env = dict(env)
        self.bootstrap = self.env["ECO_KAFKA_BOOTSTRAP"]
        address = broker_address(self.bootstrap, self.env["ECO_KAFKA_CONTROLLER_PORT"])
        self.kafka = LocalKafka(address, home / "data" / "kafka", env=self.env)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start_broker(self) -> float:
        """Start the broker; the seconds until it answered."""
        return self.kafka.start()

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.home / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as handle:
            proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args], env=self.env,
                                    stdout=handle, stderr=handle, start_new_session=True)
        self.processes[name] = proc
        return proc

    def start_services(self, timeout: float = 180.0) -> None:
        """Start the sandbox customs and a worker with every stage; return once the worker's
        /readyz answers 200, DependencyUnavailable if it dies or the deadline passes."""
        self._spawn("sandbox-customs", "sandbox-customs", "--delay", SANDBOX_DELAY)
        self._spawn("worker", "worker")
        url = f"http://127.0.0.1:{self.env['ECO_WORKER_WEB_PORT']}/readyz"
        deadline = time.monotonic() + timeout
        while not _answers(url):
            if self.dead():
                raise DependencyUnavailable(f"{', '.join(self.dead())} exited while starting:\n"
                                            f"{self.log_tail(self.dead()[0])}")
            if time.monotonic() > deadline:
                raise DependencyUnavailable(f"the worker was not ready after {timeout:.0f} s:\n"
                                            f"{self.log_tail('worker')}")
            time.sleep(0.3)  # polling interval of a deadline-bounded wait

    def dead(self) -> list[str]:
        """The services that exited on their own."""
        return [name for name, proc in self.processes.items() if proc.poll() is not None]

    def log_tail(self, name: str) -> str:
        return tail(self.home / "logs" / f"{name}.log", 20)

    def close(self) -> None:
        """Stop the worker, the sandbox customs and the broker, in that order."""
        for proc in reversed(list(self.processes.values())):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.processes.clear()
        self.kafka.stop()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def bench_pipeline(applications: int, say: Callable[[str], None],
                   timeout: float | None = None) -> PipelineFigures:
    """Run ``applications`` submissions through a fresh stack and time them until every one
    settles (ACCEPTED, normally); everything started is stopped, also on error."""
    limit = timeout if timeout is not None else 120.0 + 2.0 * applications
    run_id = datetime.now(UTC).strftime("%H%M%S")
    with tempfile.TemporaryDirectory(prefix="eco-bench-") as scratch:
        home = Path(scratch)
        ports = StackPorts(free_port(), free_port(), free_port(), free_port())
        stack = BenchStack(home, stack_environment(os.environ, home, ports))
        try:
            say(f"starting a broker at {stack.bootstrap} ...")
            broker_start = stack.start_broker()
            say(f"broker ready in {broker_start:.1f} s; starting sandbox customs and a worker")
            ensure_topics(stack.bootstrap, [SCRATCH_TOPIC], stack.kafka.partitions)
            stack.start_services()
            envelopes = bench_envelopes(applications, run_id)
            produce_seconds = feeds.run(produce(stack.bootstrap, SCRATCH_TOPIC, envelopes))
            say(f"produced {applications} records in {produce_seconds:.2f} s; "
                f"submitting {applications} applications")
            ids = [envelope.subject for envelope in envelopes]
            started = time.perf_counter()
            feeds.run(feeds.publish(stack.bootstrap, envelopes))
            statuses = feeds.run(feeds.wait_for_statuses(
                stack.bootstrap, ids, settled, limit, abort=lambda: bool(stack.dead())))
            elapsed = time.perf_counter() - started
            if stack.dead():
                raise DependencyUnavailable(f"{', '.join(stack.dead())} stopped during the run:"
                                            f"\n{stack.log_tail(stack.dead()[0])}")
        finally:
            say("stopping the worker, the sandbox customs and the broker")
            stack.close()
    return PipelineFigures(
        applications=applications,
        accepted=sum(1 for i in ids if i in statuses and accepted(statuses[i])),
        broker_start_seconds=broker_start,
        produce_seconds=produce_seconds,
        end_to_end_seconds=elapsed,
    )
