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
from pipeline.benchmarks.endtoend import (
    PipelineFigures,
    StackPorts,
    accepted,
    bench_envelopes,
    settled,
    stack_environment,
)
from pipeline.benchmarks.suite import SuitePlan, pipeline_figures

IN_PROCESS = ("origin.determinations", "origin.applications", "signing.rsa", "signing.ecdsa",
              "codec.verification_completed")


def test_bench_is_an_eco_command() -> None:
    assert "bench" in pipeline.cli.COMMANDS


def test_quick_run_without_pipeline_prints_positive_figures(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    if "bench" not in pipeline.cli.COMMANDS:  # reported by test_bench_is_an_eco_command
        monkeypatch.setattr(pipeline.cli, "COMMANDS", (*pipeline.cli.COMMANDS, "bench"))
    code = pipeline.cli.main(["bench", "--quick", "--no-pipeline", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(document["figures"]) == set(IN_PROCESS)
    assert all(f["value"] > 0 for f in document["figures"].values())
    assert {"signing.rsa/ecdsa", "codec/origin", "origin/signing.rsa"} <= set(document["ratios"])
    assert all(value > 0 for value in document["ratios"].values())
    assert document["settings"] == {"seconds": 1.0, "pipeline": False, "applications": None}


def test_applications_below_one_is_bad_input(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if "bench" not in pipeline.cli.COMMANDS:
        monkeypatch.setattr(pipeline.cli, "COMMANDS", (*pipeline.cli.COMMANDS, "bench"))
    assert pipeline.cli.main(["bench", "--applications", "0"]) == 2
    assert "--applications 0" in capsys.readouterr().err


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
    figures = [Figure("pipeline.applications", 12.5, "applications/s", "end to end"),
               Figure("kafka.produce", 250.0, "records/s", "bare produce")]
    text = table(figures, ["a note"])
    assert "pipeline.applications" in text and "12.50" in text and "250" in text
    assert "pipeline/produce" in text and "0.05" in text
    assert text.endswith("note: a note")


def test_json_carries_settings_figures_ratios_and_notes() -> None:
    figures = [Figure("signing.rsa", 2.0, "certificates/s", "x"),
               Figure("signing.ecdsa", 4.0, "certificates/s", "y")]
    document = json.loads(as_json(figures, {"seconds": 3.0}, ["n"]))
    assert document["figures"]["signing.rsa"] == {"value": 2.0, "unit": "certificates/s",
                                                  "what": "x"}
    assert document["ratios"] == {"signing.rsa/ecdsa": 0.5}
    assert document["settings"] == {"seconds": 3.0}
    assert document["notes"] == ["n"]


def test_stack_environment_points_every_service_at_its_own_ports(tmp_path: Path) -> None:
    env = stack_environment({"PATH": "/bin", "ECO_SANDBOX_URL": "http://elsewhere"}, tmp_path,
                            StackPorts(broker=1001, controller=1002, web=1003, sandbox=1004))
    assert env["PATH"] == "/bin"
    assert env["ECO_KAFKA_BOOTSTRAP"] == "127.0.0.1:1001"
    assert env["ECO_KAFKA_CONTROLLER_PORT"] == "1002"
    assert env["ECO_CALLBACK_URL"] == "http://127.0.0.1:1003"
    assert env["ECO_SANDBOX_URL"] == "http://127.0.0.1:1004"
    assert env["ECO_DATA_DIR"] == str(tmp_path / "data")
    assert env["ECO_RESPONSE_DEADLINE"] == "1h"


def test_bench_envelopes_alternate_samples_with_unique_ids() -> None:
    envelopes = bench_envelopes(5, "run1")
    ids = [e.subject for e in envelopes]
    assert len(set(ids)) == 5
    assert all(i.endswith(f"-bench-run1-{n}") for n, i in enumerate(ids))
    assert [e.data["agreement"] for e in envelopes] == ["RCEP", "ACFTA", "RCEP", "ACFTA", "RCEP"]


def test_accepted_is_one_of_the_settled_states() -> None:
    assert accepted({"state": "ACCEPTED"}) and settled({"state": "ACCEPTED"})
    assert not accepted({"state": "FALLBACK_MANUAL"}) and settled({"state": "FALLBACK_MANUAL"})
    assert not settled({"state": "TRANSMITTED"})


def test_pipeline_rate_is_left_out_when_some_application_was_not_accepted() -> None:
    run = PipelineFigures(applications=10, accepted=9, broker_start_seconds=5.0,
                          produce_seconds=0.5, end_to_end_seconds=4.0)
    figures, notes = pipeline_figures(run)
    names = {f.name for f in figures}
    assert names == {"kafka.broker_start", "kafka.produce"}
    assert notes and "9 of 10" in notes[0]


def test_pipeline_figures_of_a_whole_run() -> None:
    run = PipelineFigures(applications=10, accepted=10, broker_start_seconds=5.0,
                          produce_seconds=0.5, end_to_end_seconds=4.0)
    figures, notes = pipeline_figures(run)
    values = {f.name: f.value for f in figures}
    assert notes == []
    assert values["kafka.produce"] == 20.0
    assert values["pipeline.applications"] == 2.5
    assert values["pipeline.seconds"] == 4.0


def test_quick_plan_runs_forty_applications_for_about_a_second_each() -> None:
    assert SuitePlan.quick() == SuitePlan(1.0, True, 40)
    assert SuitePlan.quick(False, 7) == SuitePlan(1.0, False, 7)
    assert SuitePlan() == SuitePlan(3.0, True, 200)
