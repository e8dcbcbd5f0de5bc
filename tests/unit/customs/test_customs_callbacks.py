"""The callback receiver process's application (real HTTP, no broker): a response the broker
has not acknowledged is never answered 2xx."""

from __future__ import annotations

import asyncio

from connectors.customs.callbacks import ResponseRecorder, receiver_app
from connectors.customs.receiver import accept_unauthenticated
from tests.unit.customs.test_customs_receiver import GIVEN, Serve, post


def test_without_the_broker_the_customs_is_told_to_send_again(serve: Serve) -> None:
    recorder = ResponseRecorder("127.0.0.1:9")  # never started: no broker connection

    async def run() -> tuple[int, str, object]:
        async with serve(receiver_app(recorder, accept_unauthenticated)) as base:
            return await post(base, "/v1/customs/VN/responses", GIVEN)

    status, content_type, body = asyncio.run(run())
    assert status == 503 and content_type == "application/problem+json"
    assert "send it again" in str(body)
