"""A py-spy profile of the worker while it runs flat out (``eco bench --profile DIR``), and what
its samples say: how much of the main thread's time is idle in the event loop's poll, how much
each library takes (inclusive), and the functions that take most of it themselves.

py-spy (``pip install py-spy``) samples the running worker from outside, without pausing it
(``--nonblocking``); the raw output has one line per distinct stack: ``frame;frame;... count``.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import DependencyUnavailable

IDLE_LEAVES = ("select (selectors.py", "poll (selectors.py", "epoll", "_run_once (asyncio")
"""A main-thread sample whose innermost frame is one of these waits for I/O."""

BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Avro codec (fastavro)", ("fastavro",)),
    ("event codec and CloudEvents", ("pipeline/events/",)),
    ("XML build, XSD, signature (lxml, xmlsec)", ("pipeline/certificate/", "xmlsec", "lxml")),
    ("origin rules", ("pipeline/origin/",)),
    ("Kafka client (aiokafka)", ("aiokafka/",)),
    ("Faust and mode", ("faust/", "mode/")),
    ("logging (structlog, json)", ("structlog/", "logging/", "json/")),
    ("customs HTTP (aiohttp)", ("aiohttp/",)),
    ("stage frame", ("agents/frame.py",)),
)
"""Libraries and parts of the pipeline, by a piece of the file path in their frames."""


def py_spy() -> str:
    """The py-spy executable next to this Python, else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if not found:
        raise DependencyUnavailable("py-spy is not installed: pip install py-spy")
    return found


class Recording:
    """py-spy recording one process until ``stop``."""

    def __init__(self, pid: int, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.proc = subprocess.Popen(
            [py_spy(), "record", "--pid", str(pid), "--format", "raw", "--idle",
             "--nonblocking", "--rate", "100", "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def stop(self) -> Path:
        """Stop recording (py-spy writes its file on SIGINT) and return the file."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
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
               f"{self.idle:.1%}", "inclusive, by part:"]
        out += [f"  {share:6.1%}  {name}" for name, share in self.buckets]
        out.append("self time, by function:")
        out += [f"  {share:6.1%}  {name}" for name, share in self.top_self]
        return out


def summarise(lines: Iterable[str], top: int = 15) -> ProfileSummary:
    """The shares of a raw py-spy profile's main-thread samples."""
    total, idle = 0, 0
    inclusive: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit() or "MainThread" not in stack.split(";")[1:2][0:1] \
                and not _is_main(stack):
            continue
        count = int(count_text)
        frames = stack.split(";")[2:]
        total += count
        leaf = frames[-1] if frames else ""
        if any(mark in leaf for mark in IDLE_LEAVES):
            idle += count
            continue
        leaves[leaf] += count
        for name, marks in BUCKETS:
            if any(mark in frame for frame in frames for mark in marks):
                inclusive[name] += count
    share = (lambda n: n / total) if total else (lambda n: 0.0)
    return ProfileSummary(
        total, share(idle),
        tuple((name, share(inclusive[name])) for name, _ in BUCKETS),
        tuple((leaf, share(n)) for leaf, n in leaves.most_common(top)))


def _is_main(stack: str) -> bool:
    parts = stack.split(";")
    return len(parts) > 1 and ("MainThread" in parts[1] or "main" in parts[1].lower())
