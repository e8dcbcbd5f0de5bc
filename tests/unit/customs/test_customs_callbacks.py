"""The callback receiver process's application (real HTTP, no broker): a response the broker
has not acknowledged is never answered 2xx."""

from __future__ import annotations

import asyncio

import pytest

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


def test_a_failed_send_gets_a_fresh_producer(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a broker restart an idempotent producer refuses every record: it is replaced."""
    from aiokafka.errors import KafkaError

    from connectors.customs.responses import parse_response
    from pipeline.errors import DependencyUnavailable

    class Refusing:
        stopped = False

        async def send_and_wait(self, *args: object, **kwargs: object) -> None:
            raise KafkaError("[Error 45] OutOfOrderSequenceNumber")

        async def stop(self) -> None:
            self.stopped = True

    recorder = ResponseRecorder("127.0.0.1:9")
    old = Refusing()
    recorder._producer, recorder._started = old, True  # type: ignore[assignment]
    fresh: list[str] = []

    async def start() -> None:
        fresh.append("started")
        recorder._producer = None

    monkeypatch.setattr(recorder, "start", start)
    response = parse_response("VN", GIVEN, lambda code: "PREFERENCE_GIVEN")
    with pytest.raises(DependencyUnavailable, match="OutOfOrderSequenceNumber"):
        asyncio.run(recorder.record(response))
    assert old.stopped and fresh == ["started"]


def test_the_receiver_serves_its_metrics_with_its_series_at_zero(serve: Serve) -> None:
    import aiohttp

    recorder = ResponseRecorder("127.0.0.1:9")

    async def run() -> tuple[int, str, str]:
        async with serve(receiver_app(recorder, accept_unauthenticated)) as base, \
                aiohttp.ClientSession() as session, session.get(f"{base}/metrics") as answer:
            return answer.status, answer.headers["Content-Type"], await answer.text()

    status, content_type, text = asyncio.run(run())
    assert status == 200 and content_type.startswith("text/plain")
    for series in ('eco_customs_responses_recorded_total{country="VN",via="callback"} 0.0',
                   'eco_customs_responses_recorded_total{country="TH",via="reconciliation"}',
                   'eco_customs_reconciliation_polls_total{country="MY",outcome="pending"}',
                   'eco_customs_reconciliation_polls_total{country="MY",outcome="decided"}',
                   "eco_reconciliation_awaiting ", "eco_build_info{"):
        assert series in text, series
    assert 'outcome="answered"' not in text and 'outcome="unanswered"' not in text
