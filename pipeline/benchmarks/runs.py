"""The end-to-end measurements of ``eco bench``, all in one run of one stack (a private broker,
the sandbox customs and one worker, then two): the Kafka floor, the flat-out rate, latencies at
offered rates, memory, restarts, a two-worker run and, if asked, a soak."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import feeds
from pipeline.benchmarks.client import TOPIC, AvroWriter, Record, send_records, submitted_data
from pipeline.benchmarks.endtoend import SAMPLES, SCRATCH_TOPIC, BenchStack
from pipeline.benchmarks.observe import (
    MILESTONES,
    CpuMeter,
    RssSampler,
    consume_rate,
    cpu_per_application,
    latencies_ms,
    milestone_times,
    percentile,
    rss_mb,
    sustained_rate,
)
from pipeline.benchmarks.profile import summarise
from pipeline.benchmarks.report import Figure
from pipeline.errors import DependencyUnavailable
from pipeline.services import free_port
from pipeline.submission import read_document

EXPORTERS = 500
"""Exporters the load comes from, as an office's real load does: each numbers its own
certificates (China's Form E numbering, at most 9,999 a year each), and their number
sequences spread over the partitions."""


def exporter_of(document: dict[str, Any], n: int) -> dict[str, Any]:
    """The sample ``document`` as the ``n``-th application's exporter would send it: one of
    ``EXPORTERS`` registration numbers (the sample's with its last three digits changed)."""
    exporter = dict(document.get("exporter") or {})
    registration = str(exporter.get("registration_number") or "000000000")
    exporter["registration_number"] = f"{registration[:6]}{(n // 5) % EXPORTERS:03d}"
    return {**document, "exporter": exporter}


SAMPLE_NAMES = ("01-rcep-led-luminaires-vn.json", "04-acfta-frozen-fish-vn.json",
                "03-rcep-tshirts-my.json")
SUBMITTED = "eco.application.submitted.v1"
REACHED = {"issue": "issued", "delivery": "delivered", "accept": "accepted"}
PROCESSES = ("worker", "broker", "customs", "receiver")
"""The processes of the stack, each charged with the CPU it used during a load (the worker's
main thread is one of the worker's threads, not a process of its own)."""
CPU_WHAT = {
    "worker": "the worker process, all its threads",
    "worker_main": "the worker's main thread (its event loop: every stage)",
    "broker": "the Kafka broker",
    "customs": "the sandbox customs (the importing customs' side)",
    "receiver": "the customs callback receiver",
    "total": "the four processes together",
}


@dataclass(frozen=True)
class LoadPlan:
    """How much of each measurement: applications, offered rates and their durations."""

    flat_out: int = 1000
    offered: tuple[float, ...] = (50.0, 100.0)
    offered_seconds: float = 20.0
    floor_records: int = 5000
    two_workers: int = 600
    soak_seconds: float = 0.0
    soak_rate: float = 100.0
    soak_window: float = 30.0
    profile: Path | None = None
    worker_path: Path | None = None

    @classmethod
    def quick(cls) -> LoadPlan:
        """Short enough for a test (well under two minutes with the stack's start)."""
        return cls(flat_out=150, offered_seconds=3.0, floor_records=1000, two_workers=100)


@dataclass
class Measured:
    """Figures so far, the headline values of ``--json`` and notes on what went wrong."""

    figures: list[Figure] = field(default_factory=list)
    headline: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, value: float, unit: str, what: str) -> None:
        self.figures.append(Figure(name, value, unit, what))


class Load:
    """Builds submissions with the independent client and waits for their milestones."""

    def __init__(self, stack: BenchStack, run_id: str) -> None:
        self.stack = stack
        self.run_id = run_id
        self.writer = AvroWriter.of(SUBMITTED)
        self.documents = [read_document(SAMPLES / name)[0] for name in SAMPLE_NAMES]
        self.sent = 0  # applications submitted so far: the history a restart starts with
        self.since: dict[str, dict[int, int]] = {}  # where the last send began, per topic

    def record(self, label: str, n: int) -> Record:
        app_id = f"bench-{self.run_id}-{label}-{n}"
        document = exporter_of(self.documents[n % len(self.documents)], n)
        return self.writer.record(app_id, submitted_data(document, app_id))

    def ids(self, label: str, count: int) -> list[str]:
        return [f"bench-{self.run_id}-{label}-{n}" for n in range(count)]

    def send(self, label: str, count: int, rate: float | None = None) -> float:
        """Send ``count`` applications; their milestones are looked for from here on."""
        self.since = asyncio.run(feeds.end_offsets(
            self.stack.bootstrap, sorted({topic for topic, _, _ in MILESTONES.values()})))
        self.sent += count
        return asyncio.run(send_records(self.stack.bootstrap, TOPIC, rate=rate, count=count,
                                        make=lambda n: self.record(label, n)))

    def times(self, ids: list[str], milestone: str, timeout: float = 0.0
              ) -> dict[str, datetime]:
        """When each of ``ids`` (of the last send) reached ``milestone``."""
        return asyncio.run(milestone_times(self.stack.bootstrap, ids, milestone,
                                           timeout=timeout, since=self.since,
                                           abort=lambda: bool(self.stack.dead())))


def run_load(plan: LoadPlan, say: Callable[[str], None]) -> Measured:
    """Every end-to-end measurement of ``plan`` on one fresh stack, stopped at the end."""
    from pipeline.benchmarks.endtoend import fresh_stack

    out = Measured()
    with fresh_stack(say, plan.worker_path) as stack:
        load = Load(stack, datetime.now(UTC).strftime("%H%M%S"))
        pid = stack.worker_pid()
        rss_before = rss_mb(pid)
        sampler = RssSampler(pid).start()
        try:
            _floor(load, plan, out, say)
            _flat_out(load, plan, out, say)
            for rate in plan.offered:
                found = _offered(load, rate, plan.offered_seconds, out, say,
                                 label=f"r{rate:.0f}")
                if rate == max(plan.offered):
                    for what in ("issue", "delivery", "accept"):
                        out.headline[f"latency_{what}_p99_ms"] = percentile(found[what], 0.99)
            if plan.soak_seconds > 0:
                _soak(load, plan, out, say, sampler)
        finally:
            sampler.stop()
        out.add("worker.rss_before", rss_before, "MB", "worker RSS once ready, before any load")
        out.add("worker.rss_peak", sampler.peak, "MB", "highest worker RSS during the load")
        out.add("worker.rss_after", rss_mb(pid), "MB", "worker RSS after the load")
        out.headline["rss_mb_peak"] = sampler.peak
        _restarts(load, out, say)
        if plan.profile is not None:  # while the worker is alone
            _profile(load, plan, plan.profile, out, say)
        _two_workers(load, plan, out, say)
    return out


PROFILED_APPLICATIONS = 600
"""At least this many applications in the profiled run, so the load outweighs the waits
around it."""


def _profile(load: Load, plan: LoadPlan, directory: Path, out: Measured,
             say: Callable[[str], None]) -> None:
    """One worker alone under py-spy, flat out; the summary goes to ``directory``."""
    stack = load.stack
    raw = directory / "worker-flat-out.raw.txt"
    count = max(plan.flat_out, PROFILED_APPLICATIONS)
    say(f"profile: a worker under py-spy, {count} applications flat out")
    recording = stack.attach_profiler(raw)
    if recording is None:  # no ptrace here: py-spy starts a worker of its own
        stack.services.stop("worker")
        recording = stack.start_profiled_worker(raw)
    ids = load.ids("prof", count)
    load.send("prof", count)
    load.times(ids, "accepted", timeout=120 + count * 0.5)
    summary = summarise(recording.stop().read_text().splitlines())
    if not recording.attached:
        stack.start_worker()  # the profiled worker has ended: the usual one comes back
    text = "\n".join(summary.lines())
    (directory / "worker-flat-out.summary.txt").write_text(text + "\n", encoding="utf-8")
    for line in summary.lines():
        say(f"profile: {line}")
    out.add("profile.idle", summary.idle, "share",
            "main-thread samples idle in the event loop's poll, worker flat out (py-spy)")
    for key, share in summary.buckets:
        out.add(f"profile.{key}", share, "share",
                f"main-thread samples whose innermost known part is {key}")


def _floor(load: Load, plan: LoadPlan, out: Measured, say: Callable[[str], None]) -> None:
    say(f"Kafka floor: {plan.floor_records} records produced in batches, then consumed")
    records = [load.record("floor", n) for n in range(plan.floor_records)]
    seconds = asyncio.run(send_records(load.stack.bootstrap, SCRATCH_TOPIC, records))
    out.add("kafka.produce_batched", plan.floor_records / seconds, "records/s",
            "submission records produced in batches (acks=all, idempotent), one producer")
    consumed = asyncio.run(consume_rate(load.stack.bootstrap, SCRATCH_TOPIC,
                                        plan.floor_records))
    out.add("kafka.consume_batched", consumed, "records/s",
            "the same records read back by one consumer, fetched in batches")


def _flat_out(load: Load, plan: LoadPlan, out: Measured, say: Callable[[str], None]) -> None:
    say(f"flat out: {plan.flat_out} applications at once")
    ids = load.ids("flat", plan.flat_out)
    meter = CpuMeter(load.stack.cpu_processes()).start()
    load.send("flat", plan.flat_out)
    accepted = load.times(ids, "accepted", timeout=120 + plan.flat_out * 0.5)
    _cpu_figures(out, "flat", meter, len(accepted), "flat out")
    submitted = load.times(ids, "submitted")
    if len(accepted) < len(ids):
        out.notes.append(f"flat out: only {len(accepted)} of {len(ids)} accepted in time")
    if not accepted or not submitted:
        return
    span = (max(accepted.values()) - min(submitted.values())).total_seconds()
    rate = sustained_rate(accepted.values())
    out.add("pipeline.flat_out", rate, "certificates/s",
            f"{len(accepted)} applications at once, ACCEPTED per second between the 10th and "
            "90th percentile of their acceptance times")
    out.add("pipeline.flat_out_overall", len(accepted) / span if span > 0 else 0.0,
            "certificates/s", "the same, first submission to last ACCEPTED")
    out.headline["throughput_per_s"] = rate


def _cpu_figures(out: Measured, label: str, meter: CpuMeter, applications: int,
                 load: str) -> None:
    """CPU per application of each process over one load (the load's send to its last
    ACCEPTED), and what the machine's cores allow at that cost."""
    if not applications:
        return
    cores = os.cpu_count() or 1
    per = cpu_per_application(meter.used(), applications, cores, PROCESSES)
    for name, value in per.items():
        if name == "machine_bound":
            out.add(f"cpu.{label}.machine_bound", value, "certificates/s",
                    f"{load}: what {cores} cores allow at the CPU per application measured, "
                    "were every core busy")
        else:
            out.add(f"cpu.{label}.{name}_ms", value, "ms/application",
                    f"{load}: CPU per accepted application, {CPU_WHAT[name]}")
    if label == "flat":
        out.headline["cpu_ms_per_application"] = per["total"]
        out.headline["machine_bound_per_s"] = per["machine_bound"]
        out.headline["outside_worker_ms"] = sum(per.get(p, 0.0) for p in PROCESSES
                                                if p != "worker")


def _offered(load: Load, rate: float, seconds: float, out: Measured,
             say: Callable[[str], None], label: str) -> dict[str, list[float]]:
    count = max(int(rate * seconds), 1)
    say(f"offered {rate:.0f}/s for {seconds:.0f} s ({count} applications)")
    ids = load.ids(label, count)
    meter = CpuMeter(load.stack.cpu_processes()).start()
    load.send(label, count, rate=rate)
    accepted = load.times(ids, "accepted", timeout=120 + count * 0.5)
    _cpu_figures(out, f"{rate:.0f}", meter, len(accepted), f"at {rate:.0f}/s offered")
    start = load.times(ids, "submitted")
    found = {"issue": latencies_ms(start, load.times(ids, "issued")),
             "delivery": latencies_ms(start, load.times(ids, "delivered")),
             "accept": latencies_ms(start, accepted)}
    if len(accepted) < count:
        out.notes.append(f"offered {rate:.0f}/s: only {len(accepted)} of {count} accepted")
    for what, values in found.items():
        for share in (0.5, 0.95, 0.99):
            name = f"latency.{rate:.0f}.{what}_p{share * 100:.0f}"
            out.add(name, percentile(values, share), "ms",
                    f"submission to {REACHED[what]} at {rate:.0f}/s offered, "
                    f"p{share * 100:.0f} of {len(values)}")
    return found


def _soak(load: Load, plan: LoadPlan, out: Measured, say: Callable[[str], None],
          sampler: RssSampler) -> None:
    windows = max(int(plan.soak_seconds // plan.soak_window), 1)
    say(f"soak: {plan.soak_rate:.0f}/s for {windows} windows of {plan.soak_window:.0f} s")
    p99s, rss = [], []
    for window in range(windows):
        found = _offered(load, plan.soak_rate, plan.soak_window, Measured(), lambda _: None,
                         label=f"soak{window}")
        p99s.append(percentile(found["issue"], 0.99))
        rss.append(rss_mb(sampler.pid))
        say(f"soak window {window + 1}/{windows}: issue p99 {p99s[-1]:.0f} ms, "
            f"RSS {rss[-1]:.0f} MB")
    minute = min(max(int(60 // plan.soak_window) - 1, 0), windows - 1)  # the window ending at 1 min
    out.add("soak.rss_first", rss[0], "MB", "worker RSS after the first soak window")
    out.add("soak.rss_1min", rss[minute], "MB",
            f"worker RSS after {(minute + 1) * plan.soak_window:.0f} s of soak")
    out.add("soak.rss_last", rss[-1], "MB", "worker RSS after the last soak window")
    out.add("soak.rss_growth", rss[-1] / rss[minute] if rss[minute] else 0.0, "ratio",
            "last over the one after a minute: 1.10 means 10 % growth")
    out.add("soak.applications", windows * plan.soak_window * plan.soak_rate, "applications",
            "offered during the soak")
    out.add("soak.issue_p99_first", p99s[0], "ms", "issue p99 of the first soak window")
    out.add("soak.issue_p99_last", p99s[-1], "ms", "issue p99 of the last soak window")


def _restarts(load: Load, out: Measured, say: Callable[[str], None]) -> None:
    stack, worst = load.stack, 0.0
    for sig in (signal.SIGTERM, signal.SIGKILL):
        say(f"restart after {sig.name}")
        started = time.perf_counter()
        stack.services.stop("worker", sig)  # SIGKILL after 60 s if the worker does not exit
        exited = time.perf_counter() - started
        stack.start_worker()
        seconds = time.perf_counter() - started
        worst = max(worst, seconds)
        out.add(f"restart.{sig.name.lower()}_exit", exited, "s",
                f"{sig.name} until the worker exited")
        out.add(f"restart.{sig.name.lower()}_to_ready", seconds, "s",
                f"{sig.name} to the restarted worker's /readyz answering")
    probe = load.ids("probe", 1)
    started = time.perf_counter()
    load.send("probe", 1)
    issued = load.times(probe, "issued", timeout=180)
    if issued:
        out.add("restart.sigkill_to_issued", worst + time.perf_counter() - started, "s",
                "after SIGKILL and restart, until a new application is issued")
    else:
        out.notes.append("after the SIGKILL restart no application was issued within 180 s")
    out.headline["restart_s"] = worst
    out.add("restart.history", load.sent, "applications",
            "applications the pipeline had processed before these restarts")


def _two_workers(load: Load, plan: LoadPlan, out: Measured, say: Callable[[str], None]) -> None:
    stack = load.stack
    port = free_port()
    say(f"two workers: a second one joins, {plan.two_workers} applications")
    earlier = _processed(stack.env["ECO_WORKER_WEB_PORT"])
    stack.start_worker("worker-b", port)
    ids = load.ids("two", plan.two_workers)
    load.send("two", plan.two_workers)
    accepted = load.times(ids, "accepted", timeout=180 + plan.two_workers * 0.5)
    submitted = load.times(ids, "submitted")
    twice = asyncio.run(_issued_twice(stack.bootstrap, set(ids)))
    shares = [_processed(stack.env["ECO_WORKER_WEB_PORT"]) - earlier, _processed(str(port))]
    if accepted and submitted:
        out.add("two_workers.throughput", sustained_rate(accepted.values()),
                "certificates/s", f"{len(accepted)} of {len(ids)} accepted with two workers, "
                "measured as pipeline.flat_out")
    out.add("two_workers.accepted", len(accepted), "applications",
            f"of {len(ids)} submitted while two workers share the partitions")
    out.add("two_workers.issued_twice", twice, "applications",
            "applications with more than one issued event or number (must be 0)")
    out.add("two_workers.worker_a_share", shares[0] / max(sum(shares), 1), "ratio",
            f"share of verifications done by the first worker ({shares[0]} and {shares[1]})")
    out.add("two_workers.verified", sum(shares), "applications",
            f"verifications processed by the two workers together, of {len(ids)} (more: "
            "redelivered after the rebalance and processed again, harmlessly)")
    if twice or len(accepted) < len(ids):
        out.notes.append(f"two workers: {twice} issued twice, {len(accepted)} of {len(ids)} "
                         "accepted")


async def _issued_twice(bootstrap: str, ids: set[str]) -> int:
    from pipeline import events, feeds

    seen: dict[str, set[tuple[str, str]]] = {}
    async for record in feeds.read_topic(bootstrap, "eco.issuance"):
        key = record.key.decode() if record.key else ""
        if key in ids:
            env = events.from_record(record.key, record.value, list(record.headers))
            if env.type == "eco.certificate.issued.v1":
                seen.setdefault(key, set()).add((env.id, env.data["certificate_number"]))
    return sum(1 for found in seen.values() if len(found) > 1)


def _processed(port: str) -> int:
    """Verifications the worker on ``port`` processed, from its /metrics."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            text = resp.read().decode()
    except OSError as exc:
        raise DependencyUnavailable(f"worker metrics on port {port}: {exc}") from exc
    total = 0.0
    for line in text.splitlines():
        if line.startswith("eco_stage_events_total{") and 'stage="verification"' in line \
                and 'outcome="processed"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def headline_of(measured: Measured, pure_work: float) -> dict[str, Any]:
    """The ``--json`` headline: the named figures, ``pure_work_per_s`` and the ratio of the
    flat-out rate to it."""
    head: dict[str, Any] = {"throughput_per_s": None, "latency_issue_p99_ms": None,
                            "latency_delivery_p99_ms": None, "latency_accept_p99_ms": None,
                            "rss_mb_peak": None, "restart_s": None,
                            "cpu_ms_per_application": None, "machine_bound_per_s": None,
                            **measured.headline}
    head["pure_work_per_s"] = pure_work
    rate = head["throughput_per_s"]
    head["throughput_ratio"] = rate / pure_work if rate and pure_work else None
    outside = head.pop("outside_worker_ms", None)
    head["throughput_ratio_ceiling"] = ratio_ceiling(outside, pure_work, os.cpu_count() or 1)
    return head


def ratio_ceiling(outside_worker_ms: float | None, pure_work: float, cores: int
                  ) -> float | None:
    """The highest flat-out ratio this machine allows whatever the worker's code: a worker
    that spent on each application only its pure work (``1000 / pure_work`` ms), beside the
    broker, the customs and the receiver at the CPU per application measured flat out, with
    all ``cores`` busy."""
    if outside_worker_ms is None or not pure_work:
        return None
    bound = cores * 1000 / (outside_worker_ms + 1000 / pure_work)
    return min(bound, pure_work) / pure_work
