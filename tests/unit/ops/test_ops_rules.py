"""The alert rules and the Alertmanager configuration, checked by Prometheus' own tools:
``promtool check rules``, ``promtool test rules`` (deploy/prometheus/tests/), ``amtool
check-config`` and ``amtool config routes test``; and the conventions every rule follows."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import agents.web  # noqa: F401  (imports every metric the worker exposes)
import pipeline.lag
import pipeline.milestones

REPO = Path(__file__).resolve().parents[3]
RULES = REPO / "deploy" / "prometheus" / "rules" / "eco-alerts.yml"
RULE_TESTS = REPO / "deploy" / "prometheus" / "tests" / "eco-alerts.test.yml"
ALERTMANAGER = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
RUNBOOKS = REPO / "docs" / "runbooks"
# What the operations issue asks alerts for, by the alert that answers each item.
REQUIRED = {
    "EcoBox4Rejection", "EcoResponseTimeout", "EcoTransmissionFailures",
    "EcoFallbackToManualChannel", "EcoCustomsCircuitOpen", "EcoDeadLetters",
    "EcoConsumerLagGrowing", "EcoStageStalled", "EcoIssuanceSloFastBurn",
    "EcoIssuanceSloSlowBurn", "EcoStageErrorRate", "EcoVerificationDeadlineNear",
    "EcoVerificationDeadlinePassed",
}
needs_promtool = pytest.mark.skipif(shutil.which("promtool") is None,
                                    reason="promtool (Debian package prometheus)")
needs_amtool = pytest.mark.skipif(shutil.which("amtool") is None,
                                  reason="amtool (Debian package prometheus-alertmanager)")


def rules() -> list[dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text())
    return [rule for group in data["groups"] for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, check=False)


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    checked = run("promtool", "check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_promtool_unit_tests_of_the_rules_pass() -> None:
    tested = run("promtool", "test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "SUCCESS" in tested.stdout


def test_every_item_of_the_issue_has_an_alert_and_every_alert_a_unit_test() -> None:
    names = {rule["alert"] for rule in alerts()}
    assert names >= REQUIRED
    tested = {case["alertname"] for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
              for case in test.get("alert_rule_test", [])}
    assert names <= tested, f"alerts without a promtool test: {sorted(names - tested)}"


@pytest.mark.parametrize("rule", alerts(), ids=lambda r: r["alert"])
def test_an_alert_has_a_severity_summary_description_and_a_runbook_that_exists(
        rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"critical", "warning"}
    annotations = rule["annotations"]
    assert annotations["summary"].strip() and annotations["description"].strip()
    runbook = annotations["runbook_url"]
    assert re.fullmatch(r"docs/runbooks/[a-z0-9-]+\.md", runbook), runbook
    page = REPO / runbook
    assert page.is_file(), f"{rule['alert']}: no runbook {runbook}"
    assert rule["alert"] in page.read_text(), f"{runbook} does not name {rule['alert']}"


def exposed_metric_names() -> set[str]:
    """Every sample name the worker's registry can expose (histogram suffixes included)."""
    names = set()
    for collector in list(REGISTRY._collector_to_names):
        for family in collector.describe() if hasattr(collector, "describe") else []:
            names.add(family.name)
            if family.type == "counter":
                names.add(family.name + "_total")
            if family.type == "histogram":
                names.update(family.name + s for s in ("_bucket", "_count", "_sum"))
            if family.type == "info":
                names.add(family.name + "_info")
    return names


def test_every_metric_a_rule_uses_is_one_the_pipeline_exposes() -> None:
    pipeline.lag.watch_consumer_lag(lambda: [])
    pipeline.milestones.watch_certificate_states(lambda: [])
    known = exposed_metric_names()
    for rule in rules():
        for name in re.findall(r"\beco_[a-z_]+\b", rule["expr"]):
            assert name in known, f"{rule.get('alert') or rule.get('record')}: {name} unknown"


@needs_amtool
def test_amtool_accepts_the_alertmanager_configuration() -> None:
    checked = run("amtool", "check-config", str(ALERTMANAGER))
    assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_amtool
@pytest.mark.parametrize(("labels", "receiver"), [
    (["severity=critical", "alertname=EcoBox4Rejection", "country=TH"], "on-call"),
    (["severity=warning", "alertname=EcoResponseTimeout", "country=MY"], "operations-queue"),
    (["alertname=Unlabelled"], "operations-queue"),
])
def test_alerts_are_routed_by_severity(labels: list[str], receiver: str) -> None:
    routed = run("amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER}",
                 *labels)
    assert routed.returncode == 0, routed.stderr
    assert routed.stdout.strip() == receiver


def test_alerts_are_grouped_by_country() -> None:
    route = yaml.safe_load(ALERTMANAGER.read_text())["route"]
    assert "country" in route["group_by"] and "alertname" in route["group_by"]
