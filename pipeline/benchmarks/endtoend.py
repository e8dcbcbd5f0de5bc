"""End-to-end throughput against a real broker: a private Kafka broker, the sandbox customs and
a worker, each a real process on free ports under a temporary directory, stopped at the end.

Two figures come from the same run so that they can be read as a ratio on a noisy machine:
the bare produce rate (the submissions written to a scratch topic the way ``feeds.publish``
writes, one acknowledged record at a time) and the pipeline rate (from submitting until every
application is ACCEPTED by the sandbox customs).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from pipeline import events, feeds
from pipeline.errors import DependencyUnavailable
from pipeline.events import Envelope
from pipeline.localkafka import LocalKafka, broker_address
from pipeline.services import Services, free_port
from pipeline.states import SETTLED, State
from pipeline.submission import read_document, submission
from pipeline.topics import create_topics

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
        self.env = dict(env)
        self.bootstrap = self.env["ECO_KAFKA_BOOTSTRAP"]
        address = broker_address(self.bootstrap, self.env["ECO_KAFKA_CONTROLLER_PORT"])
        self.kafka = LocalKafka(address, home / "data" / "kafka", env=self.env)
        self.services = Services(home / "logs", self.env)

    def start_broker(self) -> float:
        """Start the broker; the seconds until it answered."""
        return self.kafka.start()

    def start_services(self, timeout: float = 180.0) -> None:
        """Start the sandbox customs and a worker with every stage; return once the worker's
        /readyz answers 200, DependencyUnavailable if it dies or the deadline passes."""
        self.services.start("sandbox-customs", "sandbox-customs", "--delay", SANDBOX_DELAY)
        self.services.start("worker", "worker")
        self.services.start_receiver()
        self.services.wait_ready(f"http://127.0.0.1:{self.env['ECO_WORKER_WEB_PORT']}/readyz",
                                 timeout)

    def dead(self) -> list[str]:
        """The services that exited on their own."""
        return self.services.dead()

    def close(self) -> None:
        """Stop the worker, the sandbox customs and the broker, in that order."""
        self.services.stop_all()
        self.kafka.stop()


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
            asyncio.run(create_topics(stack.bootstrap, [SCRATCH_TOPIC], stack.kafka.partitions))
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
                                            f"\n{stack.services.log(stack.dead()[0])}")
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
