"""The response receiver over real HTTP: 202 to the sink, RFC 9457 problems otherwise."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
from aiohttp import web

from connectors.customs.receiver import response_routes
from connectors.customs.responses import CustomsResponse
from pipeline.errors import DependencyUnavailable

Serve = Callable[[web.Application], AbstractAsyncContextManager[str]]

GIVEN = {
    "response_id": "VN-R-1",
    "application_id": "demo-01-led-vn",
    "certificate_number": "E26CN0001",
    "version": 1,
    "status": "UTILISATION",
    "responded_at": "2026-05-12T01:30:00Z",
}


async def post(
    base: str, path: str, body: Any, content_type: str = "application/json"
) -> tuple[int, str, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with (
        aiohttp.ClientSession() as client,
        client.post(base + path, data=data, headers={"Content-Type": content_type}) as resp,
    ):
        return resp.status, resp.content_type, await resp.json(content_type=None)


def exchange(serve: Serve, sink: Any, *requests: tuple[str, Any], **options: Any) -> list[Any]:
    async def run() -> list[Any]:
        app = web.Application()
        app.add_routes(response_routes(sink, **options))
        async with serve(app) as base:
            return [await post(base, path, body) for path, body in requests]

    return asyncio.run(run())


def test_a_response_is_mapped_and_handed_to_the_sink(serve: Serve, sink_factory: Any) -> None:
    sink = sink_factory()
    [(status, content_type, body)] = exchange(serve, sink, ("/v1/customs/vn/responses", GIVEN))
    assert status == 202
    assert content_type == "application/json"
    assert body == {
        "response_id": "VN-R-1",
        "application_id": "demo-01-led-vn",
        "status": "PREFERENCE_GIVEN",
    }
    [response] = sink.responses
    assert isinstance(response, CustomsResponse)
    assert response.importing_country == "VN"
    assert response.status == "PREFERENCE_GIVEN"


def test_bad_input_is_a_400_problem_with_paths(serve: Serve, sink_factory: Any) -> None:
    sink = sink_factory()
    bad = {**GIVEN, "version": 0, "status": "PERHAPS"}
    [(status, content_type, body)] = exchange(serve, sink, ("/v1/customs/VN/responses", bad))
    assert status == 400
    assert content_type == "application/problem+json"
    assert body["status"] == 400
    assert body["type"].endswith("/invalid-customs-response")
    assert body["title"] == "Invalid customs response"
    assert "version" in body["detail"]
    assert body["errors"] == [
        {"path": "version", "message": "required, a whole number from 1"},
        {"path": "status", "message": "'PERHAPS' is not a status code of VN customs"},
    ]
    assert sink.responses == []


def test_unknown_country_is_404(serve: Serve, sink_factory: Any) -> None:
    sink = sink_factory()
    [(status, content_type, body)] = exchange(serve, sink, ("/v1/customs/ZZ/responses", GIVEN))
    assert (status, content_type, body["status"]) == (404, "application/problem+json", 404)
    assert sink.responses == []


def test_not_json_is_400_and_wrong_media_type_is_415(serve: Serve, sink_factory: Any) -> None:
    async def run() -> list[Any]:
        app = web.Application()
        app.add_routes(response_routes(sink_factory()))
        async with serve(app) as base:
            return [
                await post(base, "/v1/customs/TH/responses", b"{not json"),
                await post(base, "/v1/customs/TH/responses", b"<x/>", "application/xml"),
            ]

    (s1, _, b1), (s2, _, b2) = asyncio.run(run())
    assert s1 == 400 and b1["errors"][0]["path"] == ""
    assert s2 == 415 and b2["title"] == "Unsupported media type"


def test_a_retryable_sink_failure_asks_customs_to_resend(serve: Serve) -> None:
    async def failing_sink(response: CustomsResponse) -> None:
        raise DependencyUnavailable("broker down")

    [(status, content_type, body)] = exchange(
        serve, failing_sink, ("/v1/customs/MY/responses", {**GIVEN, "status": "ACK"})
    )
    assert status == 503
    assert content_type == "application/problem+json"
    assert body["status"] == 503


def test_the_authentication_seam_can_refuse(serve: Serve, sink_factory: Any) -> None:
    seen: list[tuple[str, bytes]] = []

    async def only_th(country: str, request: web.Request, body: bytes) -> bool:
        seen.append((country, body))
        return country == "TH"

    sink = sink_factory()
    results = exchange(
        serve,
        sink,
        ("/v1/customs/VN/responses", GIVEN),
        ("/v1/customs/TH/responses", GIVEN),
        authenticate=only_th,
    )
    assert [status for status, _, _ in results] == [401, 202]
    assert [country for country, _ in seen] == ["VN", "TH"]
    assert json.loads(seen[0][1]) == GIVEN
    assert len(sink.responses) == 1
