"""The sandbox customs end to end: scenarios delivered to a real response receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from connectors.customs.http import HttpCustomsConnector
from connectors.customs.protocol import Clarification, Delivery
from connectors.customs.receiver import response_routes
from connectors.customs.sandbox import SandboxCustoms, parse_certificate_xml
from connectors.customs.scenarios import DEMO_SCENARIOS, ScenarioBook

Serve = Callable[[web.Application], AbstractAsyncContextManager[str]]
XML = b"<Certificate><Number>E26</Number></Certificate>"


def statuses(sink: Any, application_id: str) -> list[str]:
    return [r.status for r in sink.responses if r.application_id == application_id]


@asynccontextmanager
async def customs(
    serve: Serve, sink: Any, scenarios: ScenarioBook = DEMO_SCENARIOS, **options: Any
) -> AsyncIterator[tuple[SandboxCustoms, Callable[[str], HttpCustomsConnector]]]:
    """A receiver collecting into ``sink``, a sandbox calling it back, and connectors to it."""
    app = web.Application()
    app.add_routes(response_routes(sink))
    async with serve(app) as receiver:
        server = SandboxCustoms(scenarios=scenarios, delay=0.01, **options)
        connectors: list[HttpCustomsConnector] = []

        def connect(country: str) -> HttpCustomsConnector:
            connectors.append(HttpCustomsConnector(country, server.country_url(country), receiver))
            return connectors[-1]

        async with server:
            try:
                yield server, connect
            finally:
                for connector in connectors:
                    await connector.close()


def test_the_demo_journeys(serve: Serve, sink_factory: Any) -> None:
    sink = sink_factory()

    async def run() -> SandboxCustoms:
        async with customs(serve, sink) as (server, connect):
            vn, th, my = connect("VN"), connect("TH"), connect("MY")
            await vn.deliver(Delivery("demo-01-led-vn", "E01", 1, "VN", XML))
            await th.deliver(Delivery("demo-02-kettle-th", "E02", 1, "TH", XML))
            await my.deliver(Delivery("demo-03-tshirt-my", "E03", 1, "MY", XML))
            await vn.deliver(Delivery("demo-04-fish-vn", "E04", 1, "VN", XML))
            await sink.wait_until(
                lambda _: "PREFERENCE_NOT_GIVEN" in statuses(sink, "demo-02-kettle-th")
            )
            await th.send_clarification(
                Clarification("demo-02-kettle-th", "E02", 1, "TH", "cost statement attached")
            )
            await sink.wait_until(
                lambda _: (
                    statuses(sink, "demo-02-kettle-th")[-1:] == ["PREFERENCE_GIVEN"]
                    and len(statuses(sink, "demo-01-led-vn")) == 2
                    and len(statuses(sink, "demo-04-fish-vn")) == 2
                )
            )
            await asyncio.wait_for(server.settled(), 5)
            return server

    server = asyncio.run(run())
    assert statuses(sink, "demo-01-led-vn") == ["ACKNOWLEDGED", "PREFERENCE_GIVEN"]
    assert statuses(sink, "demo-02-kettle-th") == [
        "ACKNOWLEDGED",
        "PREFERENCE_NOT_GIVEN",
        "PREFERENCE_GIVEN",
    ]
    assert statuses(sink, "demo-03-tshirt-my") == ["ACKNOWLEDGED"]
    assert statuses(sink, "demo-04-fish-vn") == ["ACKNOWLEDGED", "PREFERENCE_GIVEN"]
    rejection = next(r for r in sink.responses if r.status == "PREFERENCE_NOT_GIVEN")
    assert rejection.importing_country == "TH"
    assert rejection.box4_reasons[0].code == "RVC_NOT_SUBSTANTIATED"
    assert len({r.response_id for r in sink.responses}) == len(sink.responses) == 8
    assert server.stats()["callbacks"] == {"sent": 8, "failed": 0}


def test_verification_and_a_pattern_from_the_scenario_book(serve: Serve, sink_factory: Any) -> None:
    sink = sink_factory()
    book = ScenarioBook("given", {"AUDIT-*": "verification"})

    async def run() -> None:
        async with customs(serve, sink, book) as (server, connect):
            await connect("MY").deliver(Delivery("AUDIT-7", "E7", 1, "MY", XML))
            await connect("MY").deliver(Delivery("plain", "E8", 1, "MY", XML))
            await asyncio.wait_for(server.settled(), 5)

    asyncio.run(run())
    assert statuses(sink, "AUDIT-7") == ["ACKNOWLEDGED", "VERIFICATION_REQUESTED"]
    assert statuses(sink, "plain") == ["ACKNOWLEDGED", "PREFERENCE_GIVEN"]


def test_a_redelivery_is_not_decided_twice(serve: Serve, sink_factory: Any) -> None:
    sink = sink_factory()

    async def run() -> SandboxCustoms:
        async with customs(serve, sink) as (server, connect):
            vn = connect("VN")
            for _ in range(3):
                await vn.deliver(Delivery("demo-01-led-vn", "E01", 1, "VN", XML))
            await asyncio.wait_for(server.settled(), 5)
            return server

    server = asyncio.run(run())
    assert statuses(sink, "demo-01-led-vn") == ["ACKNOWLEDGED", "PREFERENCE_GIVEN"]
    assert server.deliveries["E01:1"] == 3
    assert server.processed["E01:1"] == 1


def test_callbacks_are_retried_while_the_receiver_is_down(serve: Serve, sink_factory: Any) -> None:
    sink = sink_factory()
    attempts: list[int] = []

    async def run() -> SandboxCustoms:
        receiver = web.Application()
        receiver.add_routes(response_routes(sink))
        async with serve(receiver) as upstream:

            async def flaky(request: web.Request) -> web.StreamResponse:
                attempts.append(1)
                if len(attempts) <= 2:
                    return web.Response(status=503)
                async with (
                    aiohttp.ClientSession() as client,
                    client.post(
                        upstream + request.path,
                        data=await request.read(),
                        headers={"Content-Type": "application/json"},
                    ) as resp,
                ):
                    return web.Response(status=resp.status, body=await resp.read())

            proxy = web.Application()
            proxy.add_routes([web.post("/v1/customs/{country}/responses", flaky)])
            async with serve(proxy) as callback:
                server = SandboxCustoms(delay=0.01, callback_backoff=0.01)
                async with (
                    server,
                    HttpCustomsConnector("VN", server.country_url("VN"), callback) as vn,
                ):
                    await vn.deliver(Delivery("demo-04-fish-vn", "E04", 1, "VN", XML))
                    await asyncio.wait_for(server.settled(), 5)
                    return server

    server = asyncio.run(run())
    assert statuses(sink, "demo-04-fish-vn") == ["ACKNOWLEDGED", "PREFERENCE_GIVEN"]
    assert len(attempts) == 4
    assert server.callbacks_sent == 2 and server.callbacks_failed == 0


def test_callbacks_give_up_after_the_last_attempt(serve: Serve) -> None:
    calls: list[int] = []

    async def down(request: web.Request) -> web.Response:
        calls.append(1)
        return web.Response(status=502)

    async def run() -> SandboxCustoms:
        app = web.Application()
        app.add_routes([web.post("/v1/customs/{country}/responses", down)])
        async with serve(app) as callback:
            server = SandboxCustoms(delay=0, callback_attempts=3, callback_backoff=0.001)
            async with (
                server,
                HttpCustomsConnector("TH", server.country_url("TH"), callback) as th,
            ):
                await th.deliver(Delivery("demo-03-tshirt-my", "E03", 1, "TH", XML))
                await asyncio.wait_for(server.settled(), 5)
                return server

    server = asyncio.run(run())
    assert len(calls) == 3
    assert server.callbacks_failed == 1 and server.callbacks_sent == 0


async def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as client, client.post(url, data=body, headers=headers) as r:
        return r.status, await r.json(content_type=None)


def test_delivery_faults_are_problems(serve: Serve) -> None:
    headers = {
        "Idempotency-Key": "E1:1",
        "X-Eco-Application-Id": "a",
        "X-Eco-Certificate-Number": "E1",
        "X-Eco-Certificate-Version": "1",
    }

    async def run() -> list[tuple[int, Any]]:
        async with SandboxCustoms(max_document_bytes=64) as server:
            url = server.country_url("VN") + "/certificates"
            return [
                await raw_post(url, XML, {"X-Eco-Application-Id": "a"}),
                await raw_post(url, XML, headers),  # no callback anywhere
                await raw_post(
                    url, b"<a>" + b"x" * 100 + b"</a>", {**headers, "X-Eco-Callback": "http://cb"}
                ),
            ]

    (s1, missing), (s2, no_callback), (s3, too_large) = asyncio.run(run())
    assert s1 == 400
    assert [e["path"] for e in missing["errors"]] == [
        "headers.Idempotency-Key",
        "headers.X-Eco-Certificate-Number",
        "headers.X-Eco-Certificate-Version",
        "headers.X-Eco-Callback",
    ]
    assert s2 == 400 and no_callback["errors"][0]["path"] == "headers.X-Eco-Callback"
    assert s3 == 413 and too_large["status"] == 413


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b'<!DOCTYPE r [<!ENTITY a "x">]><r>&a;</r>', "document type"),
        (b'<!DOCTYPE r SYSTEM "http://example.invalid/r.dtd"><r/>', "document type"),
        (b"<r>", "not well-formed"),
        (b"<r>" + b"x" * 2000 + b"</r>", "exceeds the limit"),
    ],
)
def test_the_hardened_parser_refuses(document: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_certificate_xml(document, limit=1000)


def test_the_hardened_parser_accepts_plain_xml() -> None:
    assert parse_certificate_xml(XML).findtext("Number") == "E26"
