"""The pipeline's own processes (worker, sandbox customs) run as children: the demo, the
benchmarks and the integration tests start, watch and stop them the same way."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from pipeline.errors import DependencyUnavailable


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(url: str) -> bool:
    """True when ``url`` answers 200 (a readiness endpoint, say)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class Services:
    """``eco`` subcommands started in their own sessions, each logging to ``<logs>/<name>.log``."""

    def __init__(self, logs: Path, env: Mapping[str, str]) -> None:
        self.logs = logs
        self.env = dict(env)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, env: Mapping[str, str] | None = None
              ) -> subprocess.Popen[bytes]:
        """Run ``eco ARGS...`` (as ``python -m pipeline``) under ``name``."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("ab") as handle:
            proc = subprocess.Popen([sys.executable, "-m", "pipeline", *args],
                                    env=dict(env or self.env), stdout=handle, stderr=handle,
                                    start_new_session=True)
        self.processes[name] = proc
        return proc

    def start_receiver(self) -> subprocess.Popen[bytes]:
        """Run the customs callback receiver (``eco receiver``) beside the worker: decisions are
        recorded while the worker is down."""
        return self.start("receiver", "receiver")

    def dead(self) -> list[str]:
        """The services that exited on their own."""
        return [name for name, proc in self.processes.items() if proc.poll() is not None]

    def log(self, name: str, chars: int = 6000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def wait_ready(self, url: str, timeout: float) -> None:
        """Return once ``url`` answers 200; DependencyUnavailable if a service dies first or
        the deadline passes."""
        deadline = time.monotonic() + timeout
        while not answers(url):
            if self.dead():
                name = self.dead()[0]
                raise DependencyUnavailable(f"{name} exited while starting:\n{self.log(name)}")
            if time.monotonic() > deadline:
                raise DependencyUnavailable(f"{url} did not answer within {timeout:.0f} s")
            time.sleep(0.3)  # polling interval of a deadline-bounded wait

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        """Signal one service's session and wait for it (SIGKILL after 60 s)."""
        proc = self.processes.pop(name, None)
        if proc is not None:
            stop_session(proc, sig)

    def stop_all(self) -> None:
        """Stop every service, the last started first."""
        for name in reversed(list(self.processes)):
            self.stop(name)


def stop_session(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal a process started in a session of its own and wait for it (SIGKILL after
    60 s)."""
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
