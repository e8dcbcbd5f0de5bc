"""The portal's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

REQUESTS = Counter("eco_portal_requests_total", "HTTP requests answered by the portal",
                   ["method", "status"])
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
