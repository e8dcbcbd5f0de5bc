"""``eco bench --quick --json`` end to end (a couple of minutes: only with ECO_BENCH_TESTS=1).
It asserts the shape of what the command prints and writes, never a speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.integration, pytest.mark.bench, pytest.mark.timeout(900),
    pytest.mark.skipif(os.environ.get("ECO_BENCH_TESTS") != "1",
                       reason="runs the whole quick bench; set ECO_BENCH_TESTS=1"),
]

HEADLINE = ("throughput_per_s", "latency_issue_p99_ms", "latency_delivery_p99_ms",
            "pure_work_per_s", "throughput_ratio", "rss_mb_peak", "restart_s")


def test_the_quick_bench_prints_one_json_object_on_its_last_line(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "pipeline", "bench", "--quick", "--json",
                           "--out", str(out)], capture_output=True, text=True, timeout=800,
                          env={**os.environ, "ECO_DATA_DIR": str(tmp_path / "data")},
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    document = json.loads(done.stdout.strip().splitlines()[-1])
    assert json.loads(out.read_text()) == document
    assert all(isinstance(document[key], int | float) and document[key] > 0
               for key in HEADLINE), {key: document.get(key) for key in HEADLINE}
    figures = document["figures"]
    assert figures["two_workers.issued_twice"]["value"] == 0
    assert 0 < figures["two_workers.worker_a_share"]["value"] < 1, "partitions shared"
    for rate in ("50", "100"):
        assert {f"latency.{rate}.{what}_p99" for what in ("issue", "delivery", "accept")
                } <= set(figures)
    for load in ("flat", "50", "100"):  # every process charged with its CPU, on each load
        for part in ("worker", "worker_main", "broker", "customs", "receiver", "total"):
            assert figures[f"cpu.{load}.{part}_ms"]["value"] > 0, (load, part)
        assert figures[f"cpu.{load}.worker_main_ms"]["value"] <= \
            figures[f"cpu.{load}.worker_ms"]["value"]
    assert 0 < document["throughput_ratio_ceiling"] <= 1
