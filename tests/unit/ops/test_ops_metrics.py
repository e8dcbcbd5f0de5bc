"""The pipeline's metrics: bounded labels, reason classes, and an exposition promtool accepts."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import REGISTRY

from pipeline import metrics
from pipeline.errors import (
    CustomsTemporaryFailure,
    IllegalTransition,
    InvalidApplication,
    InvalidRules,
    UndecodableEvent,
)
from pipeline.lag import PartitionOffsets, watch_consumer_lag
from pipeline.milestones import watch_certificate_states


def value(name: str, **labels: str) -> float:
    found = REGISTRY.get_sample_value(name, labels)
    return 0.0 if found is None else found


@pytest.mark.parametrize(("raw", "label"), [
    ("vn", "VN"), (" TH ", "TH"), ("ZZ", "other"), ("<script>", "other"), (None, ""), ("", ""),
])
def test_a_country_label_is_a_party_or_other(raw: str | None, label: str) -> None:
    assert metrics.country_label(raw) == label


@pytest.mark.parametrize(("error", "klass"), [
    (UndecodableEvent("x"), "undecodable_event"),
    (InvalidApplication([]), "invalid_input"),
    (InvalidRules("x"), "invalid_rules"),
    (IllegalTransition("x"), "illegal_transition"),
    (CustomsTemporaryFailure("x"), "retries_exhausted"),
    (KeyError("x"), "unexpected"),
])
def test_a_dead_letter_reason_is_classed_by_the_error_tree(error: BaseException,
                                                           klass: str) -> None:
    assert metrics.reason_class(error) == klass


def test_recording_functions_count_on_bounded_labels() -> None:
    before = value("eco_deadletters_total", stage="status", reason_class="illegal_transition")
    metrics.record_deadletter("status", IllegalTransition("ISSUED -> SUBMITTED"))
    assert value("eco_deadletters_total", stage="status",
                 reason_class="illegal_transition") == before + 1
    fallbacks = value("eco_customs_fallbacks_total", country="other", cause="no_connection")
    metrics.record_fallback("XX", "no_connection")
    assert value("eco_customs_fallbacks_total", country="other",
                 cause="no_connection") == fallbacks + 1
    metrics.record_customs_response("TH", "PREFERENCE_NOT_GIVEN", ["RVC_NOT_SUBSTANTIATED"])
    assert value("eco_customs_box4_reasons_total", country="TH",
                 reason="RVC_NOT_SUBSTANTIATED") >= 1


def test_declared_series_start_at_zero_so_the_first_increase_is_seen() -> None:
    metrics.stage_installed("ops-test-stage", ["eco.application"])
    metrics.countries_known(["KH"])
    assert REGISTRY.get_sample_value("eco_stage_events_total",
                                     {"stage": "ops-test-stage", "outcome": "failed"}) == 0.0
    assert REGISTRY.get_sample_value("eco_alerts_total",
                                     {"kind": "RESPONSE_TIMEOUT", "country": "KH"}) == 0.0
    assert REGISTRY.get_sample_value("eco_stage_source_info",
                                     {"stage": "ops-test-stage", "topic": "eco.application"}) == 1


def test_a_snapshot_gauge_registered_twice_replaces_the_first() -> None:
    watch_consumer_lag(lambda: [PartitionOffsets("eco.alert", 1, 5, 2)])
    watch_consumer_lag(lambda: [PartitionOffsets("eco.alert", 1, 9, 2)])
    assert value("eco_consumer_lag_records", topic="eco.alert", partition="1") == 7


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian prometheus)")
def test_promtool_check_metrics_accepts_the_exposition() -> None:
    metrics.stage_installed("verification", ["eco.application"])
    metrics.countries_known(metrics.KNOWN_COUNTRIES)
    metrics.receiver_countries_known(metrics.KNOWN_COUNTRIES)
    metrics.record_build_info()
    metrics.END_TO_END.labels("issued", "VN").observe(4.2)
    watch_certificate_states(lambda: [{"ISSUED": 1}])
    body, content_type = metrics.metrics_response()
    assert content_type.startswith("text/plain")
    checked = subprocess.run(["promtool", "check", "metrics"], input=body,
                             capture_output=True, check=False)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    text = body.decode()
    assert 'eco_build_info{faust="' in text
    assert 'eco_certificates{state="ISSUED"} 1.0' in text


def test_verification_replies_are_due_soon_then_overdue_until_replied() -> None:
    day = 86400.0
    entries = [
        {"country": "VN", "deadline": 100 * day},                   # 10 days left: soon
        {"country": "VN", "deadline": 80 * day},                    # passed
        {"country": "TH", "deadline": 200 * day},                   # far off
        {"country": "TH", "deadline": 80 * day, "replied": True},   # answered
        {},                                                          # no verification
    ]
    assert metrics.verification_replies_due(entries, now=90 * day, warning=14 * day) == {
        ("VN", "soon"): 1, ("VN", "overdue"): 1}
    metrics.record_verification_replies(entries, now=90 * day, warning=14 * day)
    assert value("eco_verification_replies_due", country="VN", due="overdue") == 1
    assert REGISTRY.get_sample_value("eco_verification_replies_due",
                                     {"country": "TH", "due": "soon"}) == 0


def test_responses_recorded_count_unknown_countries_as_other() -> None:
    before = value("eco_customs_responses_recorded_total", country="other", via="callback")
    metrics.record_response_recorded("ZZ", "callback")
    assert value("eco_customs_responses_recorded_total", country="other",
                 via="callback") == before + 1
    metrics.receiver_countries_known(["KH"])
    assert {REGISTRY.get_sample_value("eco_customs_reconciliation_polls_total",
                                      {"country": "KH", "outcome": outcome})
            for outcome in metrics.RECONCILIATION_OUTCOMES} == {0.0}
