"""Alerts for real: a Box 4 rejection and a response timeout, played by the sandbox customs,
go from the worker's metrics through Prometheus (the project's rules) to Alertmanager (the
project's routing) and arrive at a webhook, grouped by country and routed by severity."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from typing import Any

import pytest
import yaml

from pipeline.monitoring import RULES_DIR
from tests.integration.harness import promtool_accepts, required_tool, wait_for
from tests.integration.observed import ObservedRun

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def delivered(run: ObservedRun, receiver: str, alertname: str) -> list[dict[str, Any]]:
    """The firing notification groups of ``alertname`` that reached ``receiver``'s webhook."""
    return [group for group in run.webhook.groups(f"/{receiver}")
            if group["groupLabels"].get("alertname") == alertname
            and group["status"] == "firing"]


def test_prometheus_runs_the_projects_rules_on_the_scraped_worker(
        observed_run: ObservedRun) -> None:
    groups = observed_run.api("/api/v1/rules")["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    in_files = {rule.get("alert") or rule.get("record")
                for path in RULES_DIR.glob("*.yml")
                for group in yaml.safe_load(path.read_text())["groups"]
                for rule in group["rules"]}
    assert loaded == in_files
    assert all(rule["health"] == "ok" for group in groups for rule in group["rules"]), groups
    targets = observed_run.api("/api/v1/targets")["activeTargets"]
    assert sorted(t["labels"]["job"] for t in targets) == ["eco-receiver", "eco-worker"]
    assert all(t["health"] == "up" for t in targets), targets


def test_a_box4_rejection_pages_the_on_call_grouped_by_country(
        observed_run: ObservedRun) -> None:
    groups = wait_for(lambda: delivered(observed_run, "on-call", "EcoBox4Rejection"), 120,
                      "the Box 4 alert at the on-call webhook")
    assert {g["groupLabels"]["country"] for g in groups} == {"TH"}
    [alert] = groups[0]["alerts"]
    assert alert["labels"]["severity"] == "critical"
    assert alert["labels"]["country"] == "TH"
    assert alert["annotations"]["summary"] == "TH customs refused preference (Box 4)"
    assert alert["annotations"]["runbook_url"] == "docs/runbooks/box4-rejection.md"
    assert not delivered(observed_run, "operations-queue", "EcoBox4Rejection")


def test_a_response_timeout_goes_to_the_operations_queue_grouped_by_country(
        observed_run: ObservedRun) -> None:
    groups = wait_for(lambda: delivered(observed_run, "operations-queue", "EcoResponseTimeout"),
                      120, "the response-timeout alert at the operations webhook")
    assert {g["groupLabels"]["country"] for g in groups} == {"MY"}
    assert all(a["labels"]["severity"] == "warning" for g in groups for a in g["alerts"])
    assert not delivered(observed_run, "on-call", "EcoResponseTimeout")


def test_the_manual_channel_and_the_dead_letter_of_the_run_alert_too(
        observed_run: ObservedRun) -> None:
    fallback = wait_for(lambda: delivered(observed_run, "operations-queue",
                                          "EcoFallbackToManualChannel"), 120, "the fallback")
    assert {g["groupLabels"]["country"] for g in fallback} == {"ID"}
    assert fallback[0]["alerts"][0]["labels"]["cause"] == "no_connection"
    dead = wait_for(lambda: delivered(observed_run, "operations-queue", "EcoDeadLetters"), 120,
                    "the dead-letter alert")
    labels = dead[0]["alerts"][0]["labels"]
    assert (labels["stage"], labels["reason_class"]) in {
        ("verification", "undecodable_event"), ("status", "undecodable_event")}


def test_amtool_accepts_the_configuration_the_test_ran(observed_run: ObservedRun,
                                                       tmp_path: Any) -> None:
    amtool = required_tool("amtool", "prometheus-alertmanager")
    config = tmp_path / "alertmanager.yml"
    config.write_text(json.dumps(observed_run.alertmanager_config))
    checked = subprocess.run([amtool, "check-config", str(config)], capture_output=True,
                             text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_promtool_check_metrics_accepts_the_live_workers_metrics(
        observed_run: ObservedRun) -> None:
    text = promtool_checked(f"{observed_run.stack.web_url}/metrics")
    for family in ("eco_consumer_lag_records{", "eco_certificates{",
                   "eco_end_to_end_seconds_bucket{", "eco_build_info{"):
        assert family in text, family
    assert any(line.startswith("eco_deadletters_total{") and "undecodable_event" in line
               for line in text.splitlines())


def test_the_workers_log_is_json_lines_with_faust_records_in_the_same_form(
        observed_run: ObservedRun) -> None:
    lines = (observed_run.stack.services.logs / "worker.log").read_text().splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"worker.log line {number} is not JSON: {line[:200]}") from None
    loggers = {str(r.get("logger")) for r in records}
    assert any(name.split(".")[0] in ("faust", "mode", "aiokafka") for name in loggers), loggers
    processed = [r for r in records if r["event"] == "event_processed"]
    assert processed
    for record in processed:
        assert {"stage", "topic", "partition", "offset", "application_id", "ce_id", "level",
                "timestamp"} <= set(record), record
    assert not any("<ECO" in line or "PRIVATE KEY" in line for line in lines)


def promtool_checked(url: str) -> str:
    """The exposition at ``url``, once ``promtool check metrics`` accepted it."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        return promtool_accepts(answer.read())


def test_promtool_check_metrics_accepts_the_live_receivers_metrics(
        observed_run: ObservedRun) -> None:
    text = promtool_checked(f"{observed_run.stack.receiver_url}/metrics")
    recorded = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
                if line.startswith("eco_customs_responses_recorded_total{")}
    # The Box 4 refusal of the run came to the receiver as a callback.
    assert recorded['eco_customs_responses_recorded_total{country="TH",via="callback"}'] >= 1
    assert all("{country=" in name for name in recorded)
    for outcome in ("decided", "pending", "failed"):
        assert f'eco_customs_reconciliation_polls_total{{country="MY",outcome="{outcome}"}}' \
            in text
    assert "eco_reconciliation_awaiting " in text and "eco_build_info{" in text


def test_prometheus_has_the_receivers_reconciliation_series(observed_run: ObservedRun) -> None:
    series = wait_for(lambda: observed_run.query(
        'eco_customs_reconciliation_polls_total{job="eco-receiver"}'), 60,
        "the receiver's reconciliation series in Prometheus")
    assert {s["metric"]["outcome"] for s in series} == {"decided", "pending", "failed"}
    assert not observed_run.query('eco_customs_reconciliation_polls_total{job="eco-worker"}')
