"""What the benchmark reads back: each application's milestones from the events' own clocks
(``ce_time``), percentiles of them, the batched consume rate, and a worker's resident memory
from ``/proc/<pid>/status``."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pipeline import events, feeds
from pipeline.errors import EcoError

MILESTONES: Mapping[str, tuple[str, str, str | None]] = {
    "submitted": ("eco.application", "eco.application.submitted.v1", None),
    "issued": ("eco.issuance", "eco.certificate.issued.v1", None),
    "delivered": ("eco.transmission", "eco.transmission.delivered.v1", None),
    "accepted": ("eco.customs-response", "eco.customs.responded.v1", "PREFERENCE_GIVEN"),
}
"""Milestone: topic, event type, and the customs status it must carry (if any)."""


async def milestone_times(bootstrap: str, ids: Iterable[str], milestone: str, *,
                          timeout: float = 0.0, abort: Callable[[], bool] | None = None,
                          since: Mapping[str, Mapping[int, int]] | None = None
                          ) -> dict[str, datetime]:
    """The first time (``ce_time``) each application reached ``milestone``; with a
    ``timeout``, follow the topic until every id has it or the deadline passes. ``since``
    (topic to partition offsets, taken before the applications were sent) skips the history
    before them: a long soak reads each window's records, not the whole log again."""
    topic, ce_type, status = MILESTONES[milestone]
    wanted, found = set(ids), dict[str, datetime]()
    deadline = time.monotonic() + timeout if timeout > 0 else None

    def finished() -> bool:
        return stop_reading(len(found), len(wanted), deadline, time.monotonic()) or bool(
            abort and abort())

    async for record in feeds.read_topic(bootstrap, topic, follow=timeout > 0,
                                         stop=finished, since=(since or {}).get(topic)):
        key = record.key.decode() if record.key else ""
        if key not in wanted or key in found:
            continue
        try:
            envelope = events.from_record(record.key, record.value, list(record.headers))
        except EcoError:
            continue
        if envelope.type == ce_type and (status is None or envelope.data["status"] == status):
            found[key] = envelope.time
    return found


def stop_reading(found: int, wanted: int, deadline: float | None, now: float) -> bool:
    """Whether to stop reading a topic early: every wanted record found, or the deadline of a
    followed topic passed (a topic read without following is read to its end)."""
    return found >= wanted or (deadline is not None and now > deadline)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(int(-(-share * len(ordered) // 1)) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


def sustained_rate(times: Iterable[datetime]) -> float:
    """Events per second between the 10th and the 90th percentile of their times: the rate
    held once the pipeline is busy, without the ramp-up and the tail (all of them if few)."""
    ordered = sorted(times)
    if len(ordered) < 2:
        return 0.0
    cut = len(ordered) // 10 if len(ordered) >= 20 else 0
    first, last = cut, len(ordered) - 1 - cut
    span = (ordered[last] - ordered[first]).total_seconds()
    return (last - first) / span if span > 0 else 0.0


def latencies_ms(start: Mapping[str, datetime], end: Mapping[str, datetime]) -> list[float]:
    """Milliseconds from ``start`` to ``end`` for each application that has both."""
    return [(end[i] - start[i]).total_seconds() * 1000 for i in start if i in end]


async def consume_rate(bootstrap: str, topic: str, count: int) -> float:
    """Records per second one consumer reads of ``topic`` from its start, fetching in batches
    (until ``count`` records)."""
    seen = 0
    started = time.perf_counter()
    async for _ in feeds.read_topic(bootstrap, topic):
        seen += 1
        if seen >= count:
            break
    return seen / (time.perf_counter() - started)


def rss_mb(pid: int) -> float:
    """The resident set of process ``pid`` in MB (VmRSS of /proc/<pid>/status); 0 if gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class RssSampler:
    """Samples a process's RSS in a background thread; ``peak`` and ``samples`` say what it
    saw (time since start, MB)."""

    pid: int
    every: float = 0.5
    samples: list[tuple[float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> RssSampler:
        started = time.monotonic()

        def sample() -> None:
            while not self._stop.wait(self.every):
                self.samples.append((time.monotonic() - started, rss_mb(self.pid)))

        self._thread = threading.Thread(target=sample, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def peak(self) -> float:
        return max((mb for _, mb in self.samples), default=0.0)

    def at(self, seconds: float) -> float:
        """The last sample taken at or before ``seconds`` (the first sample if none)."""
        before = [mb for t, mb in self.samples if t <= seconds]
        return before[-1] if before else (self.samples[0][1] if self.samples else 0.0)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def stat_cpu_seconds(stat_line: str, ticks: int = CLOCK_TICKS) -> float:
    """User plus system CPU seconds in a ``/proc/<pid>/stat`` (or ``task/<tid>/stat``) line.
    The command name in parentheses may hold spaces and parentheses: fields are counted from
    the last ``)``."""
    fields = stat_line.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15)


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """CPU seconds process ``pid`` used so far (all its threads), or its thread ``tid``
    alone; 0 if it is gone."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        return stat_cpu_seconds(Path(path).read_text())
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class CpuMeter:
    """The CPU each process of the stack uses over one load: ``processes`` names a pid, or a
    (pid, tid) pair for one thread (the worker's main thread has the process's own id)."""

    processes: Mapping[str, int | tuple[int, int]]
    _started: dict[str, float] = field(default_factory=dict)

    def _read(self) -> dict[str, float]:
        return {name: cpu_seconds(*(which if isinstance(which, tuple) else (which,)))
                for name, which in self.processes.items()}

    def start(self) -> CpuMeter:
        self._started = self._read()
        return self

    def used(self) -> dict[str, float]:
        """CPU seconds each process used since ``start``."""
        now = self._read()
        return {name: max(now[name] - self._started.get(name, 0.0), 0.0) for name in now}


def cpu_per_application(used: Mapping[str, float], applications: int, cores: int,
                        parts: Iterable[str]) -> dict[str, float]:
    """Milliseconds of CPU per application of each process in ``used``, their ``total`` over
    ``parts`` (the processes, not their threads) and ``machine_bound``: the applications per
    second the machine's ``cores`` allow at that cost, were every core busy."""
    per = {name: 1000 * seconds / applications for name, seconds in used.items()}
    total = sum(per[name] for name in parts if name in per)
    per["total"] = total
    per["machine_bound"] = cores * 1000 / total if total else 0.0
    return per
