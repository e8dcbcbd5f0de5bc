"""A py-spy profile of the worker while it runs flat out (``eco bench --profile DIR``), and what
its samples say: how much of the main thread's time is idle in the event loop's poll, how much
each library takes (inclusive), and the functions that take most of it themselves.

py-spy (``pip install py-spy``) attaches to the worker once it is ready and samples it from
outside without pausing it (``--nonblocking``) until the load is done, so the samples are the
load's, not the worker's start. Where attaching is not permitted (ptrace rights a container may
not grant) py-spy starts the worker itself instead, and the samples then include its start.
The raw output has one line per distinct stack: ``frame;...;frame count``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import DependencyUnavailable

IDLE_LEAVES = ("select (selectors.py", "poll (selectors.py", "epoll")
"""A main-thread sample whose innermost frame is one of these waits for I/O."""

BUCKETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("events", "event codec and CloudEvents (with fastavro, compiled)",
     ("pipeline/events/", "fastavro")),
    ("certificate", "XML build, XSD, signature (lxml, xmlsec)",
     ("pipeline/certificate/", "xmlsec", "lxml")),
    ("origin", "origin rules", ("pipeline/origin/",)),
    ("aiokafka", "Kafka client (aiokafka)", ("aiokafka/",)),
    ("faust", "Faust and mode", ("faust/", "mode/")),
    ("logging", "logging (structlog, json)", ("structlog/", "logging/", "json/")),
    ("aiohttp", "customs HTTP (aiohttp)", ("aiohttp/",)),
    ("frame", "stage frame", ("agents/frame.py",)),
    ("stages", "the stages' own code", ("agents/", "pipeline/stages/", "pipeline/states.py",
                                        "pipeline/journey.py", "pipeline/versions.py")),
)
"""Libraries and parts of the pipeline, by a piece of the file path in their frames, innermost
first where they call each other (the frame and the stages call the codec, Faust calls both)."""
OTHER = ("other", "anything else (asyncio, the standard library, start-up)", ())


def _innermost_part(frames: list[str]) -> str:
    """The part a sample counts for: the innermost frame of one of the parts; compiled code
    (fastavro, lxml, xmlsec) counts for the Python frame that called it."""
    for frame in reversed(frames):
        for key, _, marks in BUCKETS:
            if any(mark in frame for mark in marks):
                return key
    return OTHER[0]


def py_spy() -> str:
    """The py-spy executable next to this Python, else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise DependencyUnavailable("py-spy is not installed: pip install py-spy")
    return found


class Recording:
    """py-spy recording a process: attached to a running one (``pid``), or starting
    ``command`` itself; ``stop`` ends the recording and returns the file."""

    def __init__(self, out: Path, log: Path, *, pid: int | None = None,
                 command: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.attached = pid is not None
        target = ["--pid", str(pid)] if pid is not None else ["--", *(command or [])]
        with log.open("ab") as handle:
            self.proc = subprocess.Popen(
                [py_spy(), "record", "--format", "raw", "--idle", "--nonblocking",
                 "--rate", "100", "-o", str(out), *target],
                env=env, stdout=handle, stderr=handle, start_new_session=True)

    @property
    def pid(self) -> int:
        """The recorded process started by py-spy (its child)."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for task in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
                children = task.read_text().split()
                if children:
                    return int(children[0])
            time.sleep(0.1)  # polling interval of a deadline-bounded wait
        raise DependencyUnavailable("py-spy did not start the worker")

    def running(self) -> bool:
        """Whether py-spy still records (an attach that is refused ends it at once)."""
        return self.proc.poll() is None

    def stop(self) -> Path:
        """End the recording: SIGINT to an attached py-spy, SIGTERM to the process it started;
        py-spy writes its file as it ends."""
        with contextlib.suppress(ProcessLookupError, DependencyUnavailable):
            if self.attached:
                os.kill(self.proc.pid, signal.SIGINT)
            else:
                os.kill(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        return self.out


@dataclass(frozen=True)
class ProfileSummary:
    """Shares (0..1) of the main thread's samples."""

    samples: int
    idle: float
    buckets: tuple[tuple[str, float], ...]
    top_self: tuple[tuple[str, float], ...]

    def lines(self) -> list[str]:
        """The summary as text, one share a line."""
        out = [f"{self.samples} samples of the main thread; idle in the event loop's poll: "
               f"{self.idle:.1%}", "by part (innermost frame of the part):"]
        labels = {key: label for key, label, _ in (*BUCKETS, OTHER)}
        out += [f"  {share:6.1%}  {labels[key]}" for key, share in self.buckets]
        out.append("self time, by function:")
        out += [f"  {share:6.1%}  {name}" for name, share in self.top_self]
        return out


def summarise(lines: Iterable[str], top: int = 15) -> ProfileSummary:
    """The shares of a raw py-spy profile's main-thread samples (stacks of other threads start
    in ``Thread._bootstrap``)."""
    total, idle = 0, 0
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit() or stack.startswith("Thread._bootstrap"):
            continue
        count, frames = int(count_text), stack.split(";")
        total += count
        if any(mark in frames[-1] for mark in IDLE_LEAVES):
            idle += count
            continue
        leaves[frames[-1]] += count
        inclusive[_innermost_part(frames)] += count

    def share(n: int) -> float:
        return n / total if total else 0.0

    return ProfileSummary(
        total, share(idle),
        tuple((key, share(inclusive[key])) for key, _, _ in (*BUCKETS, OTHER)),
        tuple((leaf, share(n)) for leaf, n in leaves.most_common(top)))
