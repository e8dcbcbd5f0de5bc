"""The status call of the reference connector against the sandbox customs (real HTTP)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp import web

from connectors.customs.http import HttpCustomsConnector
from connectors.customs.protocol import Delivery
from connectors.customs.sandbox import SandboxCustoms
from connectors.customs.scenarios import ScenarioBook
from connectors.customs.signatures import generate_customs_keys, load_private_key
from connectors.customs.status import HttpCustomsStatus
from pipeline.errors import CustomsTemporaryFailure, SignatureInvalid
from tests.unit.customs.test_customs_sandbox import XML, Serve

BOOK = ScenarioBook("given", {"silent-*": "silent"})


def test_the_decision_is_there_even_when_no_callback_got_through(
        serve: Serve, tmp_path: Path) -> None:
    keys, trust = generate_customs_keys(tmp_path, ["VN"])

    async def down(request: web.Request) -> web.Response:
        return web.Response(status=503)

    async def run() -> tuple[object, object, object, int]:
        app = web.Application()
        app.add_routes([web.post("/v1/customs/{country}/responses", down)])
        async with serve(app) as callback:
            server = SandboxCustoms(delay=0, scenarios=BOOK, callback_attempts=1,
                                    signing_keys={"VN": load_private_key(keys, "VN")})
            async with server, HttpCustomsConnector(
                    "VN", server.country_url("VN"), callback) as vn:
                status = HttpCustomsStatus("VN", server.country_url("VN"), trust)
                unknown = await status.status("E26NOPE", 1)
                await vn.deliver(Delivery("app-1", "E26/0001", 1, "VN", XML))
                await vn.deliver(Delivery("silent-1", "E26/0002", 1, "VN", XML))
                await asyncio.wait_for(server.settled(), 5)
                decided = await status.status("E26/0001", 1)
                pending = await status.status("E26/0002", 1)
                await status.close()
                return unknown, decided, pending, server.callbacks_failed

    unknown, decided, pending, failed = asyncio.run(run())
    assert failed == 3, "every callback failed (two receipts and one decision)"
    assert unknown is None and pending is None
    assert decided is not None
    assert decided.status == "PREFERENCE_GIVEN"  # type: ignore[attr-defined]
    assert decided.application_id == "app-1"  # type: ignore[attr-defined]


def test_an_unsigned_answer_is_refused(serve: Serve, tmp_path: Path) -> None:
    _, trust = generate_customs_keys(tmp_path, ["VN"])

    async def run() -> None:
        server = SandboxCustoms(delay=0, callback_url="http://127.0.0.1:9", callback_attempts=1)
        async with server, HttpCustomsConnector(
                "VN", server.country_url("VN"), "http://127.0.0.1:9") as vn:
            await vn.deliver(Delivery("app-1", "E26/0001", 1, "VN", XML))
            await asyncio.wait_for(server.settled(), 5)
            status = HttpCustomsStatus("VN", server.country_url("VN"), trust)
            try:
                with pytest.raises(SignatureInvalid, match="unsigned"):
                    await status.status("E26/0001", 1)
            finally:
                await status.close()

    asyncio.run(run())


def test_an_unreachable_customs_is_a_temporary_failure(tmp_path: Path) -> None:
    async def run() -> None:
        status = HttpCustomsStatus("VN", "http://127.0.0.1:9/customs/VN", tmp_path, timeout=2)
        try:
            with pytest.raises(CustomsTemporaryFailure, match="VN customs"):
                await status.status("E26/0001", 1)
        finally:
            await status.close()

    asyncio.run(run())
