"""The portal's Prometheus metrics, on the process's shared registry (``/metrics``).

HTTP requests are counted by route template (``/v1/applications/{application_id}``, never the
path itself), method (the standard ones, else ``other``) and status class (``2xx`` …), and
timed by route template: every label is bounded whatever a client sends."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("eco_portal_requests_total",
                   "HTTP requests answered by the portal, by route template, method and "
                   "status class", ["route", "method", "code"])
REQUEST_SECONDS = Histogram(
    "eco_portal_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template "
    "(event streams: as long as the stream is open).",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
SUBMISSIONS = Counter("eco_portal_submissions_total",
                      "Applications accepted by the portal, by document format and channel",
                      ["format", "channel"])
REFUSED = Counter("eco_portal_submissions_refused_total",
                  "Applications refused by the portal, by reason", ["reason"])
TOKENS_REJECTED = Counter("eco_portal_tokens_rejected_total",
                          "Bearer tokens refused (signature, issuer, audience, time)")
VIEW_RECORDS = Counter("eco_portal_view_records_total",
                       "Records taken into the portal's view, by topic", ["topic"])
STREAMS = Gauge("eco_portal_event_streams", "Open server-sent event streams")

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def route_label(scope: Scope) -> str:
    """The template of the route that took the request, ``unmatched`` when none did."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


class RequestMetrics:
    """Counts and times every HTTP request; outermost, so refusals by the other guards
    (413, 429) are counted too. A request that fails before answering counts as 5xx."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            route = route_label(scope)
            REQUESTS.labels(route, method_label(str(scope.get("method", ""))),
                            status_class(status)).inc()
            REQUEST_SECONDS.labels(route).observe(time.perf_counter() - started)
