"""The pure parts of the end-to-end benchmark: the independent client's records, percentiles,
latencies from event times, RSS readings and the headline (no speed is asserted)."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pipeline import events
from pipeline.benchmarks.client import SUBMITTED, AvroWriter, submitted_data
from pipeline.benchmarks.observe import (
    CLOCK_TICKS,
    CpuMeter,
    RssSampler,
    cpu_per_application,
    cpu_seconds,
    latencies_ms,
    percentile,
    rss_mb,
    stat_cpu_seconds,
    stop_reading,
    sustained_rate,
)
from pipeline.benchmarks.purework import Journey
from pipeline.benchmarks.runs import LoadPlan, Measured, headline_of, ratio_ceiling
from pipeline.events.schemas import fingerprint_of
from pipeline.submission import read_document

T0 = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[3]


def test_the_independent_client_writes_what_the_pipeline_reads() -> None:
    writer = AvroWriter.of(SUBMITTED)
    assert writer.fingerprint == fingerprint_of(SUBMITTED)
    document, _ = read_document(REPO / "samples" / "03-rcep-tshirts-my.json")
    key, value, headers = writer.record("bench-1", submitted_data(document, "bench-1"))
    envelope = events.from_record(key, value, headers)
    assert (envelope.type, envelope.subject) == (SUBMITTED, "bench-1")
    assert envelope.data["importing_country"] == "MY" and envelope.traceparent


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=200),
       st.floats(0.01, 1.0))
def test_a_percentile_is_a_value_with_that_share_at_or_below_it(values: list[float],
                                                                share: float) -> None:
    found = percentile(values, share)
    assert found in values
    assert sum(1 for v in values if v <= found) >= share * len(values) - 1e-9


def test_percentiles_of_known_values_and_of_nothing() -> None:
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (
        50.0, 99.0, 100.0)
    assert percentile([], 0.99) == 0.0


def test_latencies_pair_each_application_start_with_its_end() -> None:
    start = {"a": T0, "b": T0, "c": T0}
    end = {"a": T0 + timedelta(milliseconds=120), "c": T0 + timedelta(seconds=2)}
    assert sorted(latencies_ms(start, end)) == [120.0, 2000.0]


def test_rss_of_this_process_is_read_and_sampled() -> None:
    assert rss_mb(os.getpid()) > 1
    sampler = RssSampler(os.getpid(), every=0.01).start()
    try:
        while len(sampler.samples) < 3:  # bounded by the test timeout
            sampler._stop.wait(0.01)
    finally:
        sampler.stop()
    assert sampler.peak >= sampler.at(0.0) > 1


def test_the_headline_names_every_figure_and_works_out_the_ratio() -> None:
    measured = Measured(headline={"throughput_per_s": 90.0, "restart_s": 4.0})
    head = headline_of(measured, pure_work=300.0)
    assert head["throughput_ratio"] == 0.3 and head["pure_work_per_s"] == 300.0
    assert head["latency_issue_p99_ms"] is None and head["restart_s"] == 4.0
    assert headline_of(Measured(), 300.0)["throughput_ratio"] is None


def test_the_quick_plan_is_smaller_than_the_full_one() -> None:
    quick, full = LoadPlan.quick(), LoadPlan()
    assert quick.flat_out < full.flat_out and quick.offered_seconds < full.offered_seconds
    assert quick.offered == (50.0, 100.0) and quick.soak_seconds == 0.0


def test_one_journey_computes_a_signed_certificate(tmp_path: Path) -> None:
    journey = Journey(tmp_path)
    numbers = {journey.run_one(), journey.run_one()}
    assert len(numbers) == 2 and {n[0] for n in numbers} == {"E", "R"}, "ACFTA and RCEP"


def test_the_sustained_rate_leaves_out_the_ramp_up_and_the_tail() -> None:
    steady = [T0 + timedelta(seconds=n / 50) for n in range(100)]  # 50 per second
    ramp = [T0 - timedelta(seconds=30)] * 5 + steady + [T0 + timedelta(seconds=60)] * 5
    assert abs(sustained_rate(ramp) - 50.0) < 1.0
    assert sustained_rate([T0]) == 0.0


def test_a_topic_read_without_following_is_read_to_its_end() -> None:
    assert not stop_reading(3, 10, None, now=1e9), "no deadline: read on"
    assert stop_reading(10, 10, None, now=0.0), "everything found"
    assert stop_reading(3, 10, 5.0, now=6.0) and not stop_reading(3, 10, 5.0, now=4.0)


def test_cpu_seconds_are_read_past_a_command_name_with_spaces_and_parentheses() -> None:
    line = "4242 (python (worker) x) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0 20 0 12 0 99"
    assert stat_cpu_seconds(line, ticks=100) == 4.0  # utime 250 + stime 150 ticks


def test_the_cpu_of_this_process_and_its_main_thread_grows_with_work() -> None:
    meter = CpuMeter({"me": os.getpid(), "main": (os.getpid(), threading.get_native_id())})
    meter.start()
    deadline = time.monotonic() + 5
    while meter.used()["main"] < 0.05 and time.monotonic() < deadline:
        sum(i * i for i in range(20000))  # CPU work, bounded by the deadline
    used = meter.used()
    # The process's and the thread's counters are read one after the other, each in whole
    # clock ticks: the thread's may be a tick or two ahead of its process's.
    assert used["main"] >= 0.05 and used["me"] >= used["main"] - 2 / CLOCK_TICKS
    assert cpu_seconds(2**22 + 12345) == 0.0  # no such process


def test_cpu_per_application_adds_up_processes_not_threads() -> None:
    per = cpu_per_application({"worker": 1.0, "worker_main": 0.8, "broker": 0.5,
                               "customs": 0.3, "receiver": 0.2}, applications=100, cores=2,
                              parts=("worker", "broker", "customs", "receiver"))
    assert per["worker"] == 10.0 and per["worker_main"] == 8.0
    assert per["total"] == 20.0  # the main thread is part of the worker, counted once
    assert per["machine_bound"] == 100.0  # 2 cores, 20 ms each


def test_the_ratio_ceiling_says_what_the_machine_allows_a_perfect_worker() -> None:
    # 10 ms outside the worker, 2.5 ms of pure work: 2 cores allow 160/s against 400/s.
    assert ratio_ceiling(10.0, 400.0, 2) == 0.4
    assert ratio_ceiling(0.0, 400.0, 8) == 1.0  # never above the pure work itself
    assert ratio_ceiling(None, 400.0, 2) is None
    head = headline_of(Measured(headline={"throughput_per_s": 90.0,
                                          "outside_worker_ms": 10.0}), pure_work=400.0)
    assert "outside_worker_ms" not in head and head["throughput_ratio_ceiling"] is not None
