"""Prometheus metrics of the pipeline: names carry the prefix ``eco_`` and base units, counters
end in ``_total``, and no label takes unbounded values (no certificate numbers, exporters or
application ids; countries outside the agreements' Parties are counted as ``other``).

Every metric is defined here, with a small recording function where a stage records more than
one thing at once, so that the stages call one line each. :func:`metrics_response`,
:func:`aiohttp_metrics_handler`, :func:`asgi_metrics_app` and :func:`serve_metrics` expose the
process's registry: the worker mounts it on its HTTP server, other processes (the portal, the
callback receiver) mount or serve it the same way, each on its own endpoint.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from importlib import metadata
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
    make_asgi_app,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pipeline.application.agreement import PARTIES
from pipeline.errors import (
    BusinessRejection,
    IllegalTransition,
    InvalidInput,
    InvalidRules,
    RetryableError,
    SignatureInvalid,
    UndecodableEvent,
    UnsafeXml,
)

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
STAGE_SOURCES = Gauge(
    "eco_stage_source_info",
    "1 for each topic a stage consumes: joins consumer lag (by topic) to stages.",
    ["stage", "topic"],
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
STAGE_PHASES = ("decide", "durable", "publish", "after")
STAGE_PHASE_SECONDS = Histogram(
    "eco_stage_batch_phase_seconds",
    "Time one batch of a stage spent in each phase: deciding its transitions, waiting for its "
    "durable tables, publishing its outputs and state, waiting for its after tables.",
    ["stage", "phase"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
STAGE_STOPPED = Gauge(
    "eco_stage_stopped",
    "1 while a stage cannot publish a batch's outputs or dead letters and holds its partitions.",
    ["stage"],
)
# End-to-end time from the application's submission; customs decisions take hours to days.
END_TO_END_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600,
                      86400, 3 * 86400, 7 * 86400)
END_TO_END = Histogram(
    "eco_end_to_end_seconds",
    "Time from an application's submission to a milestone (issued, delivered, decided), "
    "by importing country.",
    ["milestone", "country"],
    buckets=END_TO_END_BUCKETS,
)
CIRCUIT_OPEN = Gauge(
    "eco_customs_circuit_open",
    "1 while the circuit breaker of a country's customs endpoint is open",
    ["country"],
)
DELIVERY_RETRIES = Counter(
    "eco_customs_delivery_retries_total",
    "Deliveries to a country's customs tried again after a temporary failure.",
    ["country"],
)
FALLBACKS = Counter(
    "eco_customs_fallbacks_total",
    "Certificates sent to the manual channel, by country and cause (no_connection, "
    "circuit_open).",
    ["country", "cause"],
)
RECONCILIATION_POLLS = Counter(
    "eco_customs_reconciliation_polls_total",
    "Questions to a customs about certificates still awaiting its decision, by outcome.",
    ["country", "outcome"],
)
CUSTOMS_RESPONSES = Counter(
    "eco_customs_responses_total",
    "Responses received from importing customs, by country and status (ACKNOWLEDGED, "
    "PREFERENCE_GIVEN, PREFERENCE_NOT_GIVEN, VERIFICATION_REQUESTED, TECH_REJECTED).",
    ["country", "status"],
)
BOX4_REASONS = Counter(
    "eco_customs_box4_reasons_total",
    "Box 4 reasons given by importing customs, by country and reason of the code list.",
    ["country", "reason"],
)
DEADLETTERS = Counter(
    "eco_deadletters_total",
    "Messages a stage sent to eco.deadletter, by stage and class of reason.",
    ["stage", "reason_class"],
)
VERIFICATION_REPLIES_DUE = Gauge(
    "eco_verification_replies_due",
    "Replies to customs' verification requests not sent yet whose deadline is near (due=soon) "
    "or past (due=overdue), on this worker's partitions (RCEP Article 3.24, Form E Rule 18).",
    ["country", "due"],
)
BUILD = Info("eco_build", "Version of eco-pipeline and of its runtime.")

OTHER_COUNTRY = "other"
KNOWN_COUNTRIES = frozenset().union(*PARTIES.values())
ALERT_KINDS = ("BOX4_REJECTION", "RESPONSE_TIMEOUT", "TRANSMISSION_FAILED", "FALLBACK_MANUAL",
               "VERIFICATION_DEADLINE", "SUPPLIER_DATA_MISSING")
STAGE_OUTCOMES = ("processed", "duplicate", "retried", "failed", "deadlettered")
# The nearest class of the error tree names the reason class; order: most specific first.
_REASON_CLASSES: tuple[tuple[type[BaseException], str], ...] = (
    (UndecodableEvent, "undecodable_event"),
    (InvalidRules, "invalid_rules"),
    (InvalidInput, "invalid_input"),
    (SignatureInvalid, "signature_invalid"),
    (UnsafeXml, "unsafe_xml"),
    (IllegalTransition, "illegal_transition"),
    (BusinessRejection, "business_rejection"),
    (RetryableError, "retries_exhausted"),
)
REASON_CLASSES = (*(name for _, name in _REASON_CLASSES), "unexpected")


def country_label(country: str | None) -> str:
    """The label value of an importing country: its code if it is a Party, else ``other``
    (``""`` when there is none), so a malformed code cannot create a new series."""
    if not country:
        return ""
    code = country.strip().upper()
    return code if code in KNOWN_COUNTRIES else OTHER_COUNTRY


def reason_class(error: BaseException) -> str:
    """The class of a dead letter's reason: the error tree's nearest class, or ``unexpected``."""
    for kind, name in _REASON_CLASSES:
        if isinstance(error, kind):
            return name
    return "unexpected"


def stage_installed(stage: str, topics: Sequence[str]) -> None:
    """Declare a stage's series at zero (so rates and alerts see them before the first event)
    and the topics it consumes."""
    for outcome in STAGE_OUTCOMES:
        STAGE_EVENTS.labels(stage, outcome)
    STAGE_SECONDS.labels(stage)
    for phase in STAGE_PHASES:
        STAGE_PHASE_SECONDS.labels(stage, phase)
    for reason in REASON_CLASSES:
        DEADLETTERS.labels(stage, reason)
    for topic in topics:
        STAGE_SOURCES.labels(stage, topic).set(1)


def countries_known(countries: Iterable[str]) -> None:
    """Declare the per-country series of the customs corridor at zero, so an increase from the
    first event on is seen by ``increase()`` and the alert rules."""
    for raw in countries:
        country = country_label(raw)
        for kind in ALERT_KINDS:
            ALERTS.labels(kind, country)
        for outcome in ("delivered", "failed", "fallback"):
            TRANSMISSIONS.labels(country, outcome)
        DELIVERY_RETRIES.labels(country)
        CIRCUIT_OPEN.labels(country)
        for cause in ("no_connection", "circuit_open"):
            FALLBACKS.labels(country, cause)


def record_deadletter(stage: str, error: BaseException) -> None:
    """One message of ``stage`` dead-lettered because of ``error``."""
    DEADLETTERS.labels(stage, reason_class(error)).inc()


def record_alert(kind: str, country: str | None) -> None:
    ALERTS.labels(kind, country_label(country)).inc()


def record_transmission(country: str, outcome: str) -> None:
    TRANSMISSIONS.labels(country_label(country), outcome).inc()


def record_fallback(country: str, cause: str) -> None:
    """A certificate for ``country`` went to the manual channel (cause: no_connection or
    circuit_open)."""
    FALLBACKS.labels(country_label(country), cause).inc()
    record_transmission(country, "fallback")


def record_delivery_retry(country: str) -> None:
    DELIVERY_RETRIES.labels(country_label(country)).inc()


def record_circuit(country: str, is_open: bool) -> None:
    CIRCUIT_OPEN.labels(country_label(country)).set(1 if is_open else 0)


def record_reconciliation_poll(country: str, outcome: str) -> None:
    """One reconciliation status call to ``country``'s customs (decided, pending, failed)."""
    RECONCILIATION_POLLS.labels(country_label(country), outcome).inc()


def record_customs_response(country: str, status: str, box4_reasons: Iterable[str] = ()) -> None:
    """A customs response and, for a Box 4 refusal, each of its reasons (our code list's)."""
    label = country_label(country)
    CUSTOMS_RESPONSES.labels(label, status).inc()
    for reason in box4_reasons:
        BOX4_REASONS.labels(label, reason).inc()


def verification_replies_due(entries: Iterable[Mapping[str, Any]], now: float,
                             warning: float) -> dict[tuple[str, str], int]:
    """``{(country, "soon" | "overdue"): count}`` of the verification requests not replied to:
    soon once ``warning`` seconds or less are left, overdue once the deadline passed."""
    counts: dict[tuple[str, str], int] = {}
    for entry in entries:
        if not entry or "deadline" not in entry or entry.get("replied"):
            continue
        deadline = float(entry["deadline"])
        due = "overdue" if now >= deadline else "soon" if now >= deadline - warning else None
        if due is not None:
            key = (country_label(entry.get("country")), due)
            counts[key] = counts.get(key, 0) + 1
    return counts


def record_verification_replies(entries: Iterable[Mapping[str, Any]], now: float,
                                warning: float) -> None:
    """Set ``eco_verification_replies_due`` for every known country (zero when none)."""
    counts = verification_replies_due(entries, now, warning)
    for country in sorted(KNOWN_COUNTRIES | {c for c, _ in counts}):
        for due in ("soon", "overdue"):
            VERIFICATION_REPLIES_DUE.labels(country, due).set(counts.get((country, due), 0))


def record_build_info() -> None:
    """``eco_build_info``: the package's version, Python's and Faust's."""
    BUILD.info({"version": _version("eco-pipeline"), "python": platform.python_version(),
                "faust": _version("faust-streaming")})


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


class SnapshotGauge(Collector):
    """A gauge family computed at scrape time from ``snapshot``: label values to value.

    For figures a process holds anyway (a table's records, a consumer's offsets): nothing is
    recomputed between scrapes and nothing can drift."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str],
                 snapshot: Callable[[], Mapping[tuple[str, ...], float]]) -> None:
        self.name, self.documentation, self.labels = name, documentation, list(labels)
        self._snapshot = snapshot

    def describe(self) -> list[Any]:
        return [GaugeMetricFamily(self.name, self.documentation, labels=self.labels)]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labels)
        for values, value in sorted(self._snapshot().items()):
            family.add_metric(list(values), value)
        yield family


_SNAPSHOTS: dict[str, SnapshotGauge] = {}


def register_snapshot(gauge: SnapshotGauge, registry: CollectorRegistry = REGISTRY) -> None:
    """Register ``gauge``, replacing an earlier one of the same name (an app built again)."""
    previous = _SNAPSHOTS.pop(gauge.name, None)
    if previous is not None:
        registry.unregister(previous)
    registry.register(gauge)
    _SNAPSHOTS[gauge.name] = gauge


def metrics_response(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The body and content type of a ``/metrics`` answer (Prometheus text format 0.0.4)."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


async def aiohttp_metrics_handler(request: Any) -> Any:
    """An aiohttp handler serving this process's registry: ``web.get("/metrics", ...)``."""
    from aiohttp import web

    body, content_type = metrics_response()
    return web.Response(body=body, headers={"Content-Type": content_type})


def asgi_metrics_app(registry: CollectorRegistry = REGISTRY) -> Any:
    """An ASGI app serving the registry, to mount at ``/metrics`` (Starlette, FastAPI)."""
    return make_asgi_app(registry)


def serve_metrics(host: str, port: int, registry: CollectorRegistry = REGISTRY) -> Any:
    """Serve the registry at ``http://host:port/metrics`` from a thread of its own, for a
    process without an HTTP server; returns the server (``.shutdown()`` stops it)."""
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return server


# The callback receiver and the reconciliation poller (``eco receiver``).
CUSTOMS_RESPONSES_RECORDED = Counter(
    "eco_customs_responses_recorded_total",
    "Customs responses written to eco.customs-response, by country and how they came "
    "(callback, reconciliation).",
    ["country", "via"],
)
RECONCILIATION_AWAITING = Gauge(
    "eco_reconciliation_awaiting",
    "Certificate versions delivered and still awaiting a customs decision, as the topics say.",
)
RECONCILIATION_OUTCOMES = ("decided", "pending", "failed")
RECORDED_VIA = ("callback", "reconciliation")


def receiver_countries_known(countries: Iterable[str]) -> None:
    """Declare the callback receiver's per-country series at zero: responses recorded by way
    (callback, reconciliation) and reconciliation calls by outcome (decided, pending, failed)."""
    for raw in countries:
        country = country_label(raw)
        for via in RECORDED_VIA:
            CUSTOMS_RESPONSES_RECORDED.labels(country, via)
        for outcome in RECONCILIATION_OUTCOMES:
            RECONCILIATION_POLLS.labels(country, outcome)


def record_response_recorded(country: str, via: str) -> None:
    """A customs response of ``country`` written to eco.customs-response (callback or
    reconciliation)."""
    CUSTOMS_RESPONSES_RECORDED.labels(country_label(country), via).inc()
