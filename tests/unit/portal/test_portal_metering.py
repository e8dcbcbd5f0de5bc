"""The portal's request metrics: route templates, bounded methods and status classes, and
durations, whatever path or method a client sends."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from connectors.portal.metering import RequestMetrics, method_label, status_class


def count(route: str, method: str, code: str) -> float:
    return REGISTRY.get_sample_value("eco_portal_requests_total",
                                     {"route": route, "method": method, "code": code}) or 0.0


def app() -> FastAPI:
    api = FastAPI()

    @api.get("/v1/metering-test/{ref}")
    async def one(ref: str) -> dict[str, str]:
        return {"ref": ref}

    @api.get("/v1/metering-broken")
    async def broken() -> dict[str, str]:
        raise RuntimeError("broken")

    api.add_middleware(RequestMetrics)
    return api


def test_requests_are_counted_by_route_template_not_by_path() -> None:
    before = count("/v1/metering-test/{ref}", "GET", "2xx")
    timed = REGISTRY.get_sample_value("eco_portal_request_duration_seconds_count",
                                      {"route": "/v1/metering-test/{ref}"}) or 0.0
    with TestClient(app()) as client:
        for ref in ("CERT-1", "CERT-2", "CERT-3"):
            assert client.get(f"/v1/metering-test/{ref}").status_code == 200
    assert count("/v1/metering-test/{ref}", "GET", "2xx") == before + 3
    assert REGISTRY.get_sample_value("eco_portal_request_duration_seconds_count",
                                     {"route": "/v1/metering-test/{ref}"}) == timed + 3
    samples = [s for m in REGISTRY.collect() if m.name == "eco_portal_requests"
               for s in m.samples]
    assert not any("CERT-" in value for s in samples for value in s.labels.values())


def test_unknown_paths_methods_and_failures_stay_in_bounded_labels() -> None:
    unmatched = count("unmatched", "GET", "4xx")
    odd = count("/v1/metering-test/{ref}", "other", "4xx")
    failed = count("/v1/metering-broken", "GET", "5xx")
    with TestClient(app(), raise_server_exceptions=False) as client:
        assert client.get("/no/such/path/42").status_code == 404
        assert client.request("BREW", "/v1/metering-test/X").status_code == 405
        assert client.get("/v1/metering-broken").status_code == 500
    assert count("unmatched", "GET", "4xx") == unmatched + 1
    assert count("/v1/metering-test/{ref}", "other", "4xx") == odd + 1
    assert count("/v1/metering-broken", "GET", "5xx") == failed + 1


def test_labels_are_bounded() -> None:
    assert method_label("GET") == "GET" and method_label("X" * 50) == "other"
    assert [status_class(s) for s in (200, 302, 404, 503, 999)] == [
        "2xx", "3xx", "4xx", "5xx", "other"]
