"""Generates the Grafana dashboards of eco-pipeline (deploy/grafana/dashboards/*.json).

Run ``python deploy/grafana/generate.py`` after changing a panel; the tests check that the
checked-in JSON is what this script writes, and evaluate every panel's query against a real
Prometheus that scraped a demo-like run.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "eco-prometheus"}
RATE = "$__rate_interval"
COUNTRY = 'country=~"$country"'


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    kind: str = "timeseries"
    description: str = ""
    width: int = 12


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[dict[str, Any], ...] = field(default=())


def q(expr: str, legend: str = "") -> tuple[str, str]:
    return (expr, legend)


def quantiles(selector: str, by: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        q(f"histogram_quantile({p}, sum by (le, {by}) (rate({selector}[{RATE}])))",
          f"p{int(p * 100)} {{{{{by}}}}}")
        for p in (0.5, 0.95, 0.99))


OVERVIEW = Dashboard(
    "eco-overview", "eco overview",
    "Flow through the stages, certificates by state, end-to-end time, alerts.",
    (
        Panel("Flow through the stages (events/s)", (
            q(f'sum by (stage) (rate(eco_stage_events_total{{outcome="processed"}}[{RATE}]))',
              "{{stage}}"),)),
        Panel("Certificates by state", (q("sum by (state) (eco_certificates)", "{{state}}"),),
              kind="bargauge"),
        Panel("Examinations by verdict (/s)", (
            q(f"sum by (agreement, verdict) (rate(eco_verifications_total[{RATE}]))",
              "{{agreement}} {{verdict}}"),)),
        Panel("Certificates issued by office (/s)", (
            q(f"sum by (office) (rate(eco_certificates_issued_total[{RATE}]))", "{{office}}"),)),
        Panel("End-to-end time from submission", quantiles(
            "eco_end_to_end_seconds_bucket", "milestone"), unit="s", width=24,
            description="Time from submission to issuance, delivery and the customs decision."),
        Panel("Issuance objective: share slower than 5 min (1 h)", (
            q("eco:issuance_slow:ratio_rate1h", "slow share"),), unit="percentunit",
            description="Objective: at most 1 %; see docs/runbooks/issuance-slo-burn.md."),
        Panel("Clearance-exception alerts raised (1 h)", (
            q("sum by (kind) (increase(eco_alerts_total[1h]))", "{{kind}}"),),
              kind="bargauge"),
        Panel("Alerts firing", (
            q('sum by (alertname, severity) (ALERTS{alertstate="firing"})',
              "{{alertname}} ({{severity}})"),), kind="table"),
        Panel("Awaiting a customs decision", (
            q("sum(eco_awaiting_customs_responses)", "certificates"),), kind="stat"),
    ),
)

CORRIDOR = Dashboard(
    "eco-customs-corridor", "eco customs corridor",
    "One importing country: deliveries, acknowledgements, decisions, Box 4 reasons, timeouts, "
    "fallback and reconciliation.",
    (
        Panel("Deliveries by outcome (/s)", (
            q(f"sum by (outcome) (rate(eco_transmissions_total{{{COUNTRY}}}[{RATE}]))",
              "{{outcome}}"),)),
        Panel("Acknowledgements and decisions (/s)", (
            q(f"sum by (status) (rate(eco_customs_responses_total{{{COUNTRY}}}[{RATE}]))",
              "{{status}}"),)),
        Panel("Box 4 rejections by reason (1 h)", (
            q(f"sum by (reason) (increase(eco_customs_box4_reasons_total{{{COUNTRY}}}[1h]))",
              "{{reason}}"),), kind="bargauge"),
        Panel("Response timeouts (1 h)", (
            q(f'sum(increase(eco_alerts_total{{kind="RESPONSE_TIMEOUT",{COUNTRY}}}[1h]))',
              "timeouts"),), kind="stat"),
        Panel("Manual channel by cause (1 h)", (
            q(f"sum by (cause) (increase(eco_customs_fallbacks_total{{{COUNTRY}}}[1h]))",
              "{{cause}}"),)),
        Panel("Circuit open", (
            q(f"max(eco_customs_circuit_open{{{COUNTRY}}})", "open"),), kind="stat"),
        Panel("Delivery retries (/s)", (
            q(f"sum(rate(eco_customs_delivery_retries_total{{{COUNTRY}}}[{RATE}]))",
              "retries"),)),
        Panel("Reconciliation polls by outcome (/s)", (
            q(f"sum by (outcome) "
              f"(rate(eco_customs_reconciliation_polls_total{{{COUNTRY}}}[{RATE}]))",
              "{{outcome}}"),),
              description="The callback receiver's status calls about certificates awaiting "
                          "a decision: decided (the customs gave it), pending (none yet), "
                          "failed (the call failed; asked again next round)."),
        Panel("Verification replies due", (
            q(f"sum by (due) (eco_verification_replies_due{{{COUNTRY}}})", "{{due}}"),),
              kind="stat", width=24,
              description="Verification requests not answered: deadline near (soon) or past."),
        Panel("Time to delivery and decision", quantiles(
            f'eco_end_to_end_seconds_bucket{{{COUNTRY},milestone=~"delivered|decided"}}',
            "milestone"), unit="s", width=24),
    ),
    variables=({
        "name": "country", "label": "Importing country", "type": "query",
        "datasource": DATASOURCE, "query": {"query": "label_values(eco_transmissions_total, "
                                                     "country)", "refId": "country"},
        "definition": "label_values(eco_transmissions_total, country)",
        "refresh": 2, "includeAll": False, "multi": False, "sort": 1,
    },),
)

HEALTH = Dashboard(
    "eco-pipeline-health", "eco pipeline health",
    "Consumer lag, processing rate, errors, dead letters, worker resources.",
    (
        Panel("Consumer lag by topic and partition (records)", (
            q("sum by (topic, partition) (eco_consumer_lag_records)",
              "{{topic}}/{{partition}}"),), width=24),
        Panel("Processing rate by stage and outcome (/s)", (
            q(f"sum by (stage, outcome) (rate(eco_stage_events_total[{RATE}]))",
              "{{stage}} {{outcome}}"),)),
        Panel("Errors by stage (/s)", (
            q(f'sum by (stage) (rate(eco_stage_events_total{{outcome=~"retried|failed|'
              f'deadlettered"}}[{RATE}]))', "{{stage}}"),)),
        Panel("Duration p99 by stage", (
            q(f"histogram_quantile(0.99, sum by (le, stage) "
              f"(rate(eco_stage_processing_seconds_bucket[{RATE}])))", "{{stage}}"),),
              unit="s"),
        Panel("Dead letters by stage and reason class (1 h)", (
            q("sum by (stage, reason_class) (increase(eco_deadletters_total[1h]))",
              "{{stage}} {{reason_class}}"),), kind="bargauge"),
        Panel("Worker CPU (cores)", (
            q(f'rate(process_cpu_seconds_total{{job="eco-worker"}}[{RATE}])',
              "{{instance}}"),)),
        Panel("Worker memory", (
            q('process_resident_memory_bytes{job="eco-worker"}', "{{instance}}"),),
              unit="bytes"),
        Panel("Workers up", (q('up{job="eco-worker"}', "{{instance}}"),), kind="stat"),
        Panel("Build", (q("eco_build_info", "{{instance}} {{version}}"),), kind="table"),
    ),
)

DASHBOARDS = (OVERVIEW, CORRIDOR, HEALTH)


def panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr,
             "legendFormat": legend, "range": panel.kind not in ("table", "stat", "bargauge"),
             "instant": panel.kind in ("table", "stat", "bargauge")}
            for i, (expr, legend) in enumerate(panel.exprs)
        ],
    }


def dashboard_json(dashboard: Dashboard) -> dict[str, Any]:
    panels, x, y = [], 0, 0
    for number, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > 24:
            x, y = 0, y + 8
        panels.append(panel_json(panel, number, x, y))
        x += panel.width
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["eco-pipeline"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": list(dashboard.variables)},
        "annotations": {"list": []},
        "links": [{"title": "eco dashboards", "type": "dashboards", "tags": ["eco-pipeline"],
                   "asDropdown": True}],
        "panels": panels,
    }


def rendered() -> dict[str, str]:
    """File name to JSON text, as written to ``dashboards/``."""
    return {f"{d.uid}.json": json.dumps(dashboard_json(d), indent=2, sort_keys=True) + "\n"
            for d in DASHBOARDS}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in rendered().items():
        (OUT / name).write_text(text, encoding="utf-8")
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
