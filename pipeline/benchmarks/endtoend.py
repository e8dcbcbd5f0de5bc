"""The stack of an end-to-end benchmark run: a private Kafka broker, the sandbox customs and the
workers, each a real process on free ports under a temporary directory, stopped at the end.
It never touches the demo's broker or ports."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.benchmarks.profile import Recording
from pipeline.errors import DependencyUnavailable
from pipeline.localkafka import LocalKafka, broker_address
from pipeline.services import Services, answers, free_port
from pipeline.topics import create_topics

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SCRATCH_TOPIC = "eco.bench.produce"
SANDBOX_DELAY = "0.05"


@dataclass(frozen=True)
class StackPorts:
    """The five ports of one benchmark stack."""

    broker: int
    controller: int
    web: int
    sandbox: int
    receiver: int


def stack_environment(base: Mapping[str, str], home: Path, ports: StackPorts,
                      worker_path: Path | None = None) -> dict[str, str]:
    """The environment of every process of the stack: ``base`` with the stack's own data
    directory, ports and a one-hour response deadline, so no deadline alert fires mid-run;
    the customs answer the callback receiver, as in a deployment, not the worker;
    ``worker_path`` runs the stack's processes from another checkout (to compare versions)."""
    return {
        **base,
        **({"PYTHONPATH": str(worker_path)} if worker_path is not None else {}),
        "ECO_DATA_DIR": str(home / "data"),
        "ECO_KAFKA_BOOTSTRAP": f"127.0.0.1:{ports.broker}",
        "ECO_KAFKA_CONTROLLER_PORT": str(ports.controller),
        "ECO_APP_ID": "eco-bench",
        "ECO_WORKER_WEB_PORT": str(ports.web),
        "ECO_SANDBOX_PORT": str(ports.sandbox),
        "ECO_SANDBOX_URL": f"http://127.0.0.1:{ports.sandbox}",
        "ECO_RECEIVER_PORT": str(ports.receiver),
        "ECO_CALLBACK_URL": f"http://127.0.0.1:{ports.receiver}",
        "ECO_RESPONSE_DEADLINE": "1h",
        "ECO_EXAMINATION_DATE": "2026-05-20",  # the samples ship from May 2026
        "ECO_DEV_PKI": "true",
    }


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
        self.services.start_receiver()  # customs callbacks: a process of its own
        self.services.wait_ready(f"http://127.0.0.1:{self.env['ECO_RECEIVER_PORT']}/readyz",
                                 timeout)
        self.start_worker(timeout=timeout)

    def start_worker(self, name: str = "worker", port: int | None = None,
                     timeout: float = 180.0) -> None:
        """Start a worker (another ``port`` lets a second one join the group) and wait until
        its /readyz answers."""
        web = str(port) if port is not None else self.env["ECO_WORKER_WEB_PORT"]
        self.services.start(name, "worker", env={**self.env, "ECO_WORKER_WEB_PORT": web})
        self.services.wait_ready(f"http://127.0.0.1:{web}/readyz", timeout)

    def start_profiled_worker(self, raw: Path, timeout: float = 180.0) -> Recording:
        """Start a worker under py-spy (the same port as the first worker, which must be
        stopped) and wait until it is ready; ``Recording.stop`` ends it and the profile."""
        recording = Recording(raw, self.services.logs / "worker-profiled.log",
                              command=[sys.executable, "-m", "pipeline", "worker"],
                              env=self.env)
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.env['ECO_WORKER_WEB_PORT']}/readyz"
        while not answers(url):
            if recording.proc.poll() is not None or time.monotonic() > deadline:
                recording.stop()
                raise DependencyUnavailable(f"the profiled worker did not become ready:\n"
                                            f"{self.services.log('worker-profiled')}")
            time.sleep(0.3)  # polling interval of a deadline-bounded wait
        return recording

    def attach_profiler(self, raw: Path, name: str = "worker") -> Recording | None:
        """py-spy attached to a running worker, or None where attaching is not permitted."""
        recording = Recording(raw, self.services.logs / "worker-profiled.log",
                              pid=self.worker_pid(name))
        deadline = time.monotonic() + 3  # a refused attach ends py-spy within this
        while recording.running() and time.monotonic() < deadline:
            time.sleep(0.1)  # polling interval of a deadline-bounded wait
        return recording if recording.running() else None

    def worker_pid(self, name: str = "worker") -> int:
        """The process id of a running worker."""
        return self.services.processes[name].pid

    def cpu_processes(self) -> dict[str, int | tuple[int, int]]:
        """The processes whose CPU a load is charged with: the worker (and its main thread, the
        event loop's, alone), the broker, the sandbox customs and the callback receiver."""
        worker = self.worker_pid()
        found: dict[str, int | tuple[int, int]] = {"worker": worker,
                                                    "worker_main": (worker, worker)}
        broker = self.kafka.pid()
        if broker is not None:
            found["broker"] = broker
        for name, part in (("sandbox-customs", "customs"), ("receiver", "receiver")):
            if name in self.services.processes:
                found[part] = self.services.processes[name].pid
        return found

    def dead(self) -> list[str]:
        """The services that exited on their own."""
        return self.services.dead()

    def close(self) -> None:
        """Stop the worker, the sandbox customs and the broker, in that order."""
        self.services.stop_all()
        self.kafka.stop()


@contextmanager
def fresh_stack(say: Callable[[str], None], worker_path: Path | None = None
                ) -> Iterator[BenchStack]:
    """A broker, the sandbox customs and a ready worker on free ports under a temporary
    directory; everything started is stopped at the end, also on error."""
    with tempfile.TemporaryDirectory(prefix="eco-bench-") as scratch:
        home = Path(scratch)
        ports = StackPorts(free_port(), free_port(), free_port(), free_port(), free_port())
        stack = BenchStack(home, stack_environment(os.environ, home, ports, worker_path))
        try:
            say(f"starting a broker at {stack.bootstrap} ...")
            seconds = stack.start_broker()
            say(f"broker ready in {seconds:.1f} s; starting sandbox customs and a worker")
            asyncio.run(create_topics(stack.bootstrap, [SCRATCH_TOPIC], stack.kafka.partitions))
            stack.start_services()
            yield stack
        finally:
            say("stopping the workers, the sandbox customs and the broker")
            stack.close()
