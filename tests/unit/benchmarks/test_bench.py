"""``eco bench`` without a broker, and the pure parts of the benchmarks (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pipeline.cli
from pipeline import events
from pipeline.benchmarks import Figure, as_json, ratios_of, table, verification_payload
from pipeline.benchmarks.codec import VERIFICATION_COMPLETED
from pipeline.benchmarks.endtoend import StackPorts, stack_environment

IN_PROCESS = ("origin.determinations", "origin.applications", "signing.rsa", "signing.ecdsa",
              "codec.verification_completed", "pure_work.journeys", "pure_work.ms")
HEADLINE = ("throughput_per_s", "latency_issue_p99_ms", "latency_delivery_p99_ms",
            "pure_work_per_s", "throughput_ratio", "rss_mb_peak", "restart_s")


def test_bench_is_an_eco_command() -> None:
    assert "bench" in pipeline.cli.COMMANDS


def test_quick_run_without_pipeline_prints_positive_figures(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    if "bench" not in pipeline.cli.COMMANDS:  # reported by test_bench_is_an_eco_command
        monkeypatch.setattr(pipeline.cli, "COMMANDS", (*pipeline.cli.COMMANDS, "bench"))
    out = tmp_path / "bench.json"
    code = pipeline.cli.main(["bench", "--quick", "--no-pipeline", "--json", "--out", str(out)])
    printed = capsys.readouterr()
    document = json.loads(printed.out.strip().splitlines()[-1])
    assert code == 0
    assert json.loads(out.read_text()) == document, "the file holds what was printed"
    assert "pure_work.journeys" in printed.err, "the table goes to stderr with --json"
    assert set(document["figures"]) == set(IN_PROCESS)
    assert all(f["value"] > 0 for f in document["figures"].values())
    assert {"signing.rsa/ecdsa", "codec/origin", "origin/signing.rsa"} <= set(document["ratios"])
    assert all(value > 0 for value in document["ratios"].values())
    assert document["settings"] == {"seconds": 1.0, "pipeline": False}
    assert set(HEADLINE) <= set(document)
    assert document["pure_work_per_s"] > 0 and document["throughput_per_s"] is None


def test_applications_below_one_is_bad_input(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if "bench" not in pipeline.cli.COMMANDS:
        monkeypatch.setattr(pipeline.cli, "COMMANDS", (*pipeline.cli.COMMANDS, "bench"))
    assert pipeline.cli.main(["bench", "--applications", "0"]) == 2
    assert "--applications 0" in capsys.readouterr().err
    assert pipeline.cli.main(["bench", "--soak", "-5"]) == 2
    assert "--soak -5: must be 0 or more" in capsys.readouterr().err


def test_verification_payload_round_trips_through_the_codec() -> None:
    payload = verification_payload(10)
    kind, decoded = events.decode(events.encode(VERIFICATION_COMPLETED, payload))
    assert kind == VERIFICATION_COMPLETED
    assert len(decoded["items"]) == 10
    assert decoded["items"] == payload["items"]
    assert decoded["document"] == payload["document"]


@given(st.floats(0.01, 1e6), st.floats(0.01, 1e6))
def test_a_ratio_is_its_numerator_over_its_denominator(rsa: float, ecdsa: float) -> None:
    figures = [Figure("signing.rsa", rsa, "certificates/s", ""),
               Figure("signing.ecdsa", ecdsa, "certificates/s", "")]
    worked = {r.ratio.name: r.value for r in ratios_of(figures)}
    assert worked == {"signing.rsa/ecdsa": pytest.approx(rsa / ecdsa)}


def test_ratio_is_left_out_when_a_figure_is_missing_or_zero() -> None:
    assert ratios_of([Figure("signing.rsa", 5.0, "certificates/s", "")]) == []
    assert ratios_of([Figure("signing.rsa", 5.0, "certificates/s", ""),
                      Figure("signing.ecdsa", 0.0, "certificates/s", "")]) == []


def test_table_lists_figures_ratios_and_notes() -> None:
    figures = [Figure("pipeline.flat_out", 12.5, "certificates/s", "end to end"),
               Figure("kafka.produce_batched", 250.0, "records/s", "batched produce")]
    text = table(figures, ["a note"])
    assert "pipeline.flat_out" in text and "12.50" in text and "250" in text
    assert "pipeline/kafka.produce" in text and "0.05" in text
    assert text.endswith("note: a note")


def test_json_carries_settings_figures_ratios_and_notes() -> None:
    figures = [Figure("signing.rsa", 2.0, "certificates/s", "x"),
               Figure("signing.ecdsa", 4.0, "certificates/s", "y")]
    text = as_json(figures, {"seconds": 3.0}, ["n"], {"throughput_per_s": 7.0})
    assert "\n" not in text, "one object on one line"
    document = json.loads(text)
    assert next(iter(document)) == "throughput_per_s", "the headline comes first"
    assert document["figures"]["signing.rsa"] == {"value": 2.0, "unit": "certificates/s",
                                                  "what": "x"}
    assert document["ratios"] == {"signing.rsa/ecdsa": 0.5}
    assert document["settings"] == {"seconds": 3.0}
    assert document["notes"] == ["n"]


def test_stack_environment_points_every_service_at_its_own_ports(tmp_path: Path) -> None:
    env = stack_environment({"PATH": "/bin", "ECO_SANDBOX_URL": "http://elsewhere"}, tmp_path,
                            StackPorts(broker=1001, controller=1002, web=1003, sandbox=1004,
                                       receiver=1005))
    assert env["PATH"] == "/bin"
    assert env["ECO_KAFKA_BOOTSTRAP"] == "127.0.0.1:1001"
    assert env["ECO_KAFKA_CONTROLLER_PORT"] == "1002"
    assert env["ECO_WORKER_WEB_PORT"] == "1003"
    assert env["ECO_CALLBACK_URL"] == "http://127.0.0.1:1005"  # the receiver, not the worker
    assert env["ECO_RECEIVER_PORT"] == "1005"
    assert env["ECO_SANDBOX_URL"] == "http://127.0.0.1:1004"
    assert env["ECO_DATA_DIR"] == str(tmp_path / "data")
    assert env["ECO_RESPONSE_DEADLINE"] == "1h"
