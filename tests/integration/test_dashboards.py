"""The Grafana dashboards: valid provisioned JSON, what the generator writes, and every panel's
query evaluated by the real Prometheus that scraped a demo-like run, returning series (no
empty panel, no misspelt metric)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.harness import REPO, wait_for
from tests.integration.observed import ObservedRun

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

GRAFANA = REPO / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
# The country the run sent a Box 4 rejection to: every corridor panel has data for it.
COUNTRY = "TH"


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def generator() -> Any:
    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def targets() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, PromQL) of every panel target."""
    return [(d["uid"], p["title"], t["expr"]) for d in map(load, DASHBOARDS)
            for p in d["panels"] for t in p["targets"]]


def concrete(expr: str) -> str:
    """The query Grafana would send: its variables replaced."""
    return (expr.replace("$__rate_interval", "1m").replace("$country", COUNTRY))


def test_the_three_dashboards_are_valid_and_what_the_generator_writes() -> None:
    assert {p.stem for p in DASHBOARDS} == {"eco-overview", "eco-customs-corridor",
                                            "eco-pipeline-health"}
    written = generator().rendered()
    for path in DASHBOARDS:
        assert path.read_text() == written[path.name], f"{path.name}: run generate.py"
        board = load(path)
        assert board["uid"] == path.stem and board["title"] and board["schemaVersion"] >= 36
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0
            assert panel["datasource"] == {"type": "prometheus", "uid": "eco-prometheus"}
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"])


def test_the_corridor_dashboard_has_a_country_variable() -> None:
    board = load(GRAFANA / "dashboards" / "eco-customs-corridor.json")
    [variable] = board["templating"]["list"]
    assert variable["name"] == "country" and variable["type"] == "query"
    assert all('country=~"$country"' in t["expr"] for p in board["panels"]
               for t in p["targets"])


def test_provisioning_points_grafana_at_the_dashboards_and_the_data_source() -> None:
    sources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" /
                              "prometheus.yml").read_text())
    [source] = sources["datasources"]
    assert source["type"] == "prometheus" and source["uid"] == "eco-prometheus"
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "eco.yml").read_text())
    [provider] = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert any(m.endswith(":" + provider["options"]["path"] + ":ro") for m in mounts), mounts


def test_every_metric_a_panel_names_exists_in_prometheus(observed_run: ObservedRun) -> None:
    names = set(observed_run.api("/api/v1/label/__name__/values"))
    for uid, title, expr in targets():
        for name in re.findall(r"\b(eco(?:_|:)[a-z_:0-9]+|process_[a-z_]+|up|ALERTS)\b", expr):
            assert name in names, f"{uid} / {title}: {name} is not a series Prometheus has"


def test_the_country_variable_offers_the_countries_of_the_run(observed_run: ObservedRun) -> None:
    series = observed_run.api("/api/v1/series?match[]=eco_transmissions_total")
    assert {COUNTRY, "VN", "MY", "ID"} <= {s["country"] for s in series}


@pytest.mark.parametrize(("uid", "title", "expr"), targets(),
                         ids=[f"{u}:{t}" for u, t, _ in targets()])
def test_every_panel_query_returns_series(observed_run: ObservedRun, uid: str, title: str,
                                          expr: str) -> None:
    query = concrete(expr)
    result = wait_for(lambda: observed_run.query(query), 60, f"series for {uid} / {title}")
    assert result, query
