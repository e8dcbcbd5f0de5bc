"""The callback receiver as a process of its own (``eco receiver``): customs decisions are
recorded on ``eco.customs-response`` straight away, whether a worker runs or not.

A response is answered 2xx only once the broker has the record (``acks=all``, awaited, the
idempotent producer); a broker that does not take it makes the customs retry (503). Its event
id derives from the customs' own response id, so a response pushed twice, or pushed and also
found by the reconciliation poller, is counted once by every stage.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from agents.web import response_event
from connectors.customs.receiver import CustomsAuthenticator, response_routes
from connectors.customs.registry import CountryRegistry
from connectors.customs.responses import CustomsResponse
from pipeline import events, feeds
from pipeline.errors import DependencyUnavailable
from pipeline.metrics import (
    KNOWN_COUNTRIES,
    aiohttp_metrics_handler,
    receiver_countries_known,
    record_build_info,
    record_response_recorded,
)

RESPONSE_TOPIC = "eco.customs-response"
SEND_TIMEOUT = 20.0
log = structlog.get_logger("eco.receiver")


class ResponseRecorder:
    """Writes customs responses to ``eco.customs-response`` and waits for the broker's ack."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
        self._started = False

    async def start(self) -> None:
        self._producer = await feeds.start_producer(self.bootstrap)
        self._started = True

    async def _renew(self) -> None:
        """A fresh producer after a failed send: an idempotent producer whose sequence the
        broker lost (a broker restart) refuses every later send (OutOfOrderSequenceNumber)."""
        old, self._producer = self._producer, None
        if old is not None:
            with contextlib.suppress(KafkaError, OSError):
                await old.stop()
        with contextlib.suppress(DependencyUnavailable):
            await self.start()  # else the next record tries again

    async def stop(self) -> None:
        self._started = False
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def record(self, response: CustomsResponse, via: str = "callback") -> str:
        """Publish the response's event; returns its id. DependencyUnavailable if the broker
        did not acknowledge it in time (nothing is answered 2xx then)."""
        if self._producer is None and self._started:
            await self._renew()
        if self._producer is None:
            raise DependencyUnavailable("the receiver is not connected to Kafka")
        envelope = response_event(response)
        key, value, headers = events.to_record(envelope)
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(RESPONSE_TOPIC, value, key=key, headers=headers),
                SEND_TIMEOUT)
        except (TimeoutError, KafkaError, OSError) as exc:
            await self._renew()
            raise DependencyUnavailable(f"cannot record the customs response: {exc}") from exc
        record_response_recorded(response.importing_country, via)
        log.info("customs_response_recorded", application_id=response.application_id,
                 country=response.importing_country, status=response.status,
                 response_id=response.response_id, ce_id=envelope.id, via=via)
        return envelope.id


def receiver_app(recorder: ResponseRecorder, authenticate: CustomsAuthenticator,
                 registry: CountryRegistry | None = None) -> web.Application:
    """``POST /v1/customs/{country}/responses`` plus ``/healthz``, ``/readyz`` (ready once
    the producer is connected) and ``/metrics`` (the process's registry)."""

    async def sink(response: CustomsResponse) -> None:
        await recorder.record(response)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    receiver_countries_known(KNOWN_COUNTRIES)  # metrics: the receiver's series at zero
    record_build_info()
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.add_routes([
        web.get("/healthz", healthz),
        web.get("/readyz", healthz),
        web.get("/metrics", aiohttp_metrics_handler),
        *response_routes(sink, registry, authenticate=authenticate),
    ])
    return app
