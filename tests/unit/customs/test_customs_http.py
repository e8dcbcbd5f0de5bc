"""The HTTP connector against the sandbox customs, over HTTPS with a test CA."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from connectors.customs.http import HttpCustomsConnector, client_ssl_context
from connectors.customs.protocol import Clarification, Delivery
from connectors.customs.sandbox import SandboxCustoms
from connectors.customs.scenarios import ScenarioBook
from pipeline.errors import BusinessRejection, CustomsTemporaryFailure

Serve = Callable[[web.Application], AbstractAsyncContextManager[str]]

CERTIFICATE = (
    b'<?xml version="1.0"?><eco:Certificate xmlns:eco="urn:eco"><n>1</n></eco:Certificate>'
)
SCENARIOS = ScenarioBook("silent", {"closed-*": "down", "kettle": "box4"})


def delivery(application_id: str = "led", version: int = 1, xml: bytes = CERTIFICATE) -> Delivery:
    return Delivery(application_id, f"E26-{application_id}", version, "VN", xml)


def sandbox(pki: Any, **options: Any) -> SandboxCustoms:
    return SandboxCustoms(
        certfile=pki.server_cert,
        keyfile=pki.server_key,
        scenarios=SCENARIOS,
        delay=0,
        callback_url="http://127.0.0.1:9",
        callback_attempts=1,
        **options,
    )


def connector(server: SandboxCustoms, pki: Any, country: str = "VN", **tls: Any) -> Any:
    return HttpCustomsConnector(
        country,
        server.country_url(country),
        "http://127.0.0.1:9",
        ssl_context=client_ssl_context(pki.ca, **tls),
        timeout=5,
    )


def test_delivery_over_https_and_idempotent_redelivery(pki: Any) -> None:
    async def run() -> tuple[Any, Any, dict[str, Any]]:
        async with sandbox(pki) as server, connector(server, pki) as vn:
            first = await vn.deliver(delivery())
            again = await vn.deliver(delivery())
            async with (
                aiohttp.ClientSession() as client,
                client.get(server.url + "/sandbox/stats", ssl=client_ssl_context(pki.ca)) as r,
            ):
                stats = await r.json()
            return first, again, stats

    first, again, stats = asyncio.run(run())
    assert first.status == "ACKNOWLEDGED"
    assert first.receipt_id.startswith("VN-SBX-")
    assert again == first
    assert stats["deliveries"] == {"E26-led:1": 2}
    assert stats["processed"] == {"E26-led:1": 1}


def test_a_new_version_is_a_new_delivery(pki: Any) -> None:
    async def run() -> tuple[Any, Any, SandboxCustoms]:
        async with sandbox(pki) as server, connector(server, pki) as vn:
            return await vn.deliver(delivery()), await vn.deliver(delivery(version=2)), server

    first, second, server = asyncio.run(run())
    assert first.receipt_id != second.receipt_id
    assert server.processed == {"E26-led:1": 1, "E26-led:2": 1}


def test_503_is_a_temporary_failure(pki: Any) -> None:
    async def run() -> SandboxCustoms:
        async with sandbox(pki) as server, connector(server, pki) as vn:
            with pytest.raises(CustomsTemporaryFailure, match="503"):
                await vn.deliver(delivery("closed-1"))
            return server

    server = asyncio.run(run())
    assert server.refused == 1
    assert server.processed == {}


def test_a_4xx_is_a_business_rejection_with_the_problem_detail(pki: Any) -> None:
    unsafe = b'<!DOCTYPE r [<!ENTITY x "boom">]><r>&x;</r>'

    async def run() -> SandboxCustoms:
        async with sandbox(pki) as server, connector(server, pki) as vn:
            with pytest.raises(BusinessRejection, match=r"400.*document type declaration"):
                await vn.deliver(delivery(xml=unsafe))
            with pytest.raises(BusinessRejection, match="not well-formed"):
                await vn.deliver(delivery(xml=b"<unclosed>"))
            async with connector(server, pki, "KR") as korea:
                with pytest.raises(BusinessRejection, match="404"):
                    await korea.deliver(delivery())
            return server

    assert asyncio.run(run()).processed == {}


def test_a_clarification_over_https(pki: Any) -> None:
    async def run() -> tuple[Any, Any, SandboxCustoms]:
        async with sandbox(pki) as server, connector(server, pki) as vn:
            await vn.deliver(delivery("kettle"))
            note = Clarification("kettle", "E26-kettle", 1, "VN", "cost statement attached")
            return await vn.send_clarification(note), await vn.send_clarification(note), server

    first, again, server = asyncio.run(run())
    assert first.status == "ACKNOWLEDGED" and again == first
    assert server.clarifications == {"E26-kettle:1:clarification": 2}
    assert server.processed["E26-kettle:1:clarification"] == 1


def test_a_clarification_for_an_unknown_certificate_is_refused(pki: Any) -> None:
    async def run() -> None:
        async with sandbox(pki) as server, connector(server, pki) as vn:
            with pytest.raises(BusinessRejection, match="404"):
                await vn.send_clarification(Clarification("x", "E26-x", 1, "VN", "why"))

    asyncio.run(run())


def test_mutual_tls(pki: Any) -> None:
    async def run() -> SandboxCustoms:
        async with sandbox(pki, client_ca=pki.ca) as server:
            async with connector(server, pki) as anonymous:
                with pytest.raises(CustomsTemporaryFailure):
                    await anonymous.deliver(delivery())
            tls = {"cert_file": pki.client_cert, "key_file": pki.client_key}
            async with connector(server, pki, **tls) as vn:
                assert (await vn.deliver(delivery())).status == "ACKNOWLEDGED"
            return server

    assert asyncio.run(run()).processed == {"E26-led:1": 1}


def test_an_untrusted_server_certificate_is_refused(pki: Any) -> None:
    async def run() -> None:
        async with sandbox(pki) as server:
            untrusted = HttpCustomsConnector(
                "VN", server.country_url("VN"), "http://127.0.0.1:9", timeout=5
            )
            async with untrusted:
                with pytest.raises(CustomsTemporaryFailure, match="certificate"):
                    await untrusted.deliver(delivery())

    asyncio.run(run())


def test_unreachable_customs_is_a_temporary_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the connector calls it

    async def run() -> None:
        async with HttpCustomsConnector("VN", f"http://127.0.0.1:{port}", "http://cb") as vn:
            await vn.deliver(delivery())

    with pytest.raises(CustomsTemporaryFailure):
        asyncio.run(run())


def test_a_timeout_is_a_temporary_failure(serve: Serve) -> None:
    async def run() -> None:
        release = asyncio.Event()

        async def hang(request: web.Request) -> web.Response:
            await release.wait()
            return web.Response()

        app = web.Application()
        app.add_routes([web.post("/customs/VN/certificates", hang)])
        async with (
            serve(app) as base,
            HttpCustomsConnector("VN", base + "/customs/VN", "http://cb", timeout=0.2) as vn,
        ):
            with pytest.raises(CustomsTemporaryFailure, match="timed out"):
                await vn.deliver(delivery())
            release.set()  # let the server shut down without waiting for the handler

    asyncio.run(run())


def test_headers_and_body_on_the_wire(serve: Serve) -> None:
    seen: dict[str, Any] = {}

    async def record(request: web.Request) -> web.Response:
        seen.update(request.headers)
        seen["body"] = await request.read()
        return web.json_response({"receipt_id": "R1", "status": "TECH_REJECTED", "message": "xsd"})

    async def run() -> Any:
        app = web.Application()
        app.add_routes([web.post("/customs/TH/certificates", record)])
        async with (
            serve(app) as base,
            HttpCustomsConnector("TH", base + "/customs/TH/", "http://worker:6066/") as th,
        ):
            return await th.deliver(Delivery("app-9", "E26X", 3, "TH", CERTIFICATE))

    receipt = asyncio.run(run())
    assert (receipt.status, receipt.message) == ("TECH_REJECTED", "xsd")
    assert seen["Content-Type"] == "application/xml"
    assert seen["Idempotency-Key"] == "E26X:3"
    assert seen["X-Eco-Application-Id"] == "app-9"
    assert seen["X-Eco-Certificate-Number"] == "E26X"
    assert seen["X-Eco-Certificate-Version"] == "3"
    assert seen["X-Eco-Callback"] == "http://worker:6066"
    assert seen["body"] == CERTIFICATE


def test_an_unreadable_2xx_is_retryable(serve: Serve) -> None:
    async def garbled(request: web.Request) -> web.Response:
        return web.Response(text="ok", status=200)

    async def run() -> None:
        app = web.Application()
        app.add_routes([web.post("/c/certificates", garbled)])
        async with serve(app) as base, HttpCustomsConnector("VN", base + "/c", "http://cb") as vn:
            await vn.deliver(delivery())

    with pytest.raises(CustomsTemporaryFailure, match="unreadable receipt"):
        asyncio.run(run())


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, CustomsTemporaryFailure),
        (502, CustomsTemporaryFailure),
        (409, BusinessRejection),
        (422, BusinessRejection),
    ],
)
def test_status_codes_route_to_the_error_tree(
    serve: Serve, status: int, error: type[Exception]
) -> None:
    async def answer(request: web.Request) -> web.Response:
        problem = {
            "title": "Refused",
            "detail": "HS code unknown",
            "errors": [{"path": "items[0].hs_code", "message": "not in the tariff"}],
        }
        return web.json_response(problem, status=status, content_type="application/problem+json")

    async def run() -> None:
        app = web.Application()
        app.add_routes([web.post("/c/certificates", answer)])
        async with serve(app) as base, HttpCustomsConnector("VN", base + "/c", "http://cb") as vn:
            await vn.deliver(delivery())

    with pytest.raises(error) as caught:
        asyncio.run(run())
    assert str(status) in str(caught.value)
    assert "Refused; HS code unknown; items[0].hs_code: not in the tariff" in str(caught.value)


def test_deliveries_to_one_country_reuse_its_connections(serve: Serve) -> None:
    peers: list[Any] = []

    async def receipt(request: web.Request) -> web.Response:
        peers.append(request.transport.get_extra_info("peername") if request.transport
                     else None)
        return web.json_response({"receipt_id": f"R{len(peers)}", "status": "ACKNOWLEDGED"})

    async def run() -> None:
        app = web.Application()
        app.add_routes([web.post("/customs/VN/certificates", receipt)])
        async with (
            serve(app) as base,
            HttpCustomsConnector("VN", base + "/customs/VN", "http://cb") as vn,
        ):
            for n in range(5):
                await vn.deliver(delivery(f"led-{n}"))
            await asyncio.gather(*(vn.deliver(delivery(f"par-{n}")) for n in range(4)))

    asyncio.run(run())
    assert len(peers) == 9
    assert len(set(peers[:5])) == 1, "one kept-alive connection for deliveries in a row"
    assert len(set(peers)) <= 5, "concurrent deliveries open only the connections they need"
