"""The sandbox checks certificate signatures and signs its responses; the development TLS makes
the connectors and the sandbox speak HTTPS with client certificates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from connectors.customs.http import HttpCustomsConnector, client_ssl_context
from connectors.customs.protocol import Delivery
from connectors.customs.receiver import response_routes
from connectors.customs.sandbox import SandboxCustoms
from connectors.customs.signatures import (
    generate_customs_keys,
    load_private_key,
    signed_by_customs,
)
from connectors.customs.tls import customs_client_context, generate_dev_tls
from pipeline.certificate.devpki import generate_dev_pki
from pipeline.errors import CustomsTemporaryFailure
from pipeline.settings import Settings

Serve = Callable[[web.Application], AbstractAsyncContextManager[str]]
UNSIGNED = b"<Certificate><Number>E26</Number></Certificate>"


def test_an_unverifiable_certificate_gets_a_technical_rejection_and_no_decision(
    tmp_path: Path, serve: Serve, sink_factory: Any
) -> None:
    trust = generate_dev_pki(tmp_path / "pki", algorithm="ecdsa").trust_dir
    sink = sink_factory()

    async def run() -> tuple[list[str], dict[str, Any]]:
        app = web.Application()
        app.add_routes(response_routes(sink))
        async with serve(app) as receiver, SandboxCustoms(delay=0.01, trust_dir=trust) as server:
            async with HttpCustomsConnector("VN", server.country_url("VN"), receiver) as vn:
                first = await vn.deliver(Delivery("A-1", "E26", 1, "VN", UNSIGNED))
                again = await vn.deliver(Delivery("A-1", "E26", 1, "VN", UNSIGNED))
            await asyncio.wait_for(server.settled(), 5)
            assert first == again
            return [first.status, first.message], server.stats()

    (status, message), stats = asyncio.run(run())
    assert status == "TECH_REJECTED"
    assert message.startswith("signature or seal not recognised")
    assert stats["signature_refused"] == 1 and stats["processed"] == {}
    assert sink.responses == []


def test_responses_are_signed_and_a_receiver_checking_them_records_them(
    tmp_path: Path, serve: Serve, sink_factory: Any
) -> None:
    keys, trust = generate_customs_keys(tmp_path / "customs", ["VN"])
    other_keys, _ = generate_customs_keys(tmp_path / "impostor", ["VN"])
    results: dict[str, list[Any]] = {}

    async def run(signing_keys: Path, label: str) -> None:
        sink = sink_factory()
        app = web.Application()
        app.add_routes(response_routes(sink, authenticate=signed_by_customs(trust)))
        async with serve(app) as receiver:
            server = SandboxCustoms(delay=0.01, callback_attempts=1,
                                    signing_keys={"VN": load_private_key(signing_keys, "VN")})
            async with server:
                async with HttpCustomsConnector("VN", server.country_url("VN"), receiver) as vn:
                    await vn.deliver(Delivery("demo-01-led-vn", "E26", 1, "VN", UNSIGNED))
                await asyncio.wait_for(server.settled(), 5)
                results[label] = [[r.status for r in sink.responses],
                                  server.stats()["callbacks"]]

    asyncio.run(run(keys, "genuine"))
    asyncio.run(run(other_keys, "impostor"))
    assert results["genuine"] == [["ACKNOWLEDGED", "PREFERENCE_GIVEN"],
                                  {"sent": 2, "failed": 0}]
    assert results["impostor"] == [[], {"sent": 0, "failed": 2}]


def test_the_development_tls_gives_https_with_client_certificates(
    tmp_path: Path, serve: Serve, sink_factory: Any
) -> None:
    dev = generate_dev_tls(tmp_path / "tls")
    assert dev.complete()
    before = dev.ca_file.read_bytes()
    assert generate_dev_tls(tmp_path / "tls").ca_file.read_bytes() == before  # kept
    settings = Settings(data_dir=tmp_path, sandbox_url="https://127.0.0.1:1", dev_pki=True)
    context = customs_client_context(settings)
    assert context is not None
    assert customs_client_context(Settings(data_dir=tmp_path)) is None  # plain http
    sink = sink_factory()

    async def run() -> str:
        app = web.Application()
        app.add_routes(response_routes(sink))
        async with serve(app) as receiver:
            server = SandboxCustoms(delay=0.01, certfile=dev.server_cert,
                                    keyfile=dev.server_key, client_ca=dev.ca_file)
            async with server:
                assert server.url.startswith("https://")
                anonymous = HttpCustomsConnector(
                    "VN", server.country_url("VN"), receiver,
                    ssl_context=client_ssl_context(dev.ca_file))
                async with anonymous:
                    with pytest.raises(CustomsTemporaryFailure):
                        await anonymous.deliver(Delivery("A-2", "E27", 1, "VN", UNSIGNED))
                async with HttpCustomsConnector("VN", server.country_url("VN"), receiver,
                                                ssl_context=context) as vn:
                    receipt = await vn.deliver(Delivery("A-1", "E26", 1, "VN", UNSIGNED))
                await asyncio.wait_for(server.settled(), 5)
                return receipt.status

    assert asyncio.run(run()) == "ACKNOWLEDGED"
