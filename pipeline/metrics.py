"""Prometheus metrics of the pipeline: names carry the prefix ``eco_`` and base units."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

STAGE_EVENTS = Counter(
    "eco_stage_events_total",
    "Events a stage finished, by outcome: processed, duplicate, retried, failed, deadlettered.",
    ["stage", "outcome"],
)
STAGE_SECONDS = Histogram(
    "eco_stage_processing_seconds",
    "Time a stage spent on one event, retries included.",
    ["stage"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ALERTS = Counter(
    "eco_alerts_total",
    "Clearance-exception alerts raised, by kind and importing country.",
    ["kind", "country"],
)
CERTIFICATES_ISSUED = Counter(
    "eco_certificates_issued_total",
    "Certificates issued, by issuing office and agreement.",
    ["office", "agreement"],
)
TRANSMISSIONS = Counter(
    "eco_transmissions_total",
    "Certificate transmissions to importing customs, by country and outcome.",
    ["country", "outcome"],
)
AWAITING_RESPONSES = Gauge(
    "eco_awaiting_customs_responses",
    "Certificates delivered and waiting for a customs decision, on this worker.",
)
APPLICATIONS_BY_VERDICT = Counter(
    "eco_verifications_total",
    "Examinations completed, by agreement and verdict.",
    ["agreement", "verdict"],
)
TRUST_AUTHORITIES = Gauge(
    "eco_trust_authorities",
    "Issuing authorities in force now in this worker's trust registry, by country (Rule 3).",
    ["country"],
)
# The callback receiver and the reconciliation poller (``eco receiver``).
CUSTOMS_RESPONSES_RECORDED = Counter(
    "eco_customs_responses_recorded_total",
    "Customs responses written to eco.customs-response, by country and how they came "
    "(callback, reconciliation).",
    ["country", "via"],
)
RECONCILIATION_CALLS = Counter(
    "eco_reconciliation_calls_total",
    "Status calls of the reconciliation poller, by country and outcome "
    "(decided, pending, failed).",
    ["country", "outcome"],
)
RECONCILIATION_AWAITING = Gauge(
    "eco_reconciliation_awaiting",
    "Certificate versions delivered and still awaiting a customs decision, as the topics say.",
)
