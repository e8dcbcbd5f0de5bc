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
STAGE_BATCH_SIZE = Histogram(
    "eco_stage_batch_events",
    "Events a stage applied in one batch.",
    ["stage"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
STAGE_STOPPED = Gauge(
    "eco_stage_stopped",
    "1 while a stage cannot publish a batch's outputs or dead letters and holds its partitions.",
    ["stage"],
)
