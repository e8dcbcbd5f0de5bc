"""The worker's HTTP server: ``/metrics``, ``/healthz``, ``/readyz``, ``/trust`` (the trust
registry of issuing authorities as this worker applies it) and the endpoint where
customs connectors deliver responses (``POST /v1/customs/{country}/responses``), which
become ``eco.customs.responded.v1`` events keyed by application id. A response must carry the
signature of its country's customs (``connectors.customs.signatures``); an unsigned or forged
one gets 401 and is not recorded.

The endpoint is plain HTTP bound to loopback by default: what it receives is authenticated by
the signature over the body, not by the transport, and a deployment that exposes it puts a
TLS-terminating proxy (with client certificates, if the partner uses them) in front of it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust
import structlog
from aiohttp import web
from aiokafka.errors import KafkaError
from mode import Service

from agents.frame import derived_id, raw_topic
from agents.trust import trust_view
from connectors.customs.receiver import response_routes
from connectors.customs.responses import CustomsResponse
from connectors.customs.signatures import signed_by_customs
from pipeline import events
from pipeline.certificate.trustview import describe
from pipeline.customsfile import response_keys
from pipeline.errors import DependencyUnavailable
from pipeline.lag import faust_offsets, watch_consumer_lag
from pipeline.metrics import aiohttp_metrics_handler, record_build_info
from pipeline.settings import Settings

RESPONDED = "eco.customs.responded.v1"
log = structlog.get_logger("eco.web")


def response_event(response: CustomsResponse) -> events.Envelope:
    """The event for one customs response; its id derives from the customs' own response id,
    so a response delivered twice is counted once."""
    data: dict[str, Any] = {
        "application_id": response.application_id,
        "certificate_number": response.certificate_number,
        "version": response.version,
        "importing_country": response.importing_country,
        "response_id": response.response_id,
        "status": response.status,
        "box4_reasons": [{"code": r.code, "text": r.text} for r in response.box4_reasons],
        "message": response.message,
        "responded_at": response.responded_at,
    }
    return events.new_envelope(
        RESPONDED, data, source=f"eco/customs/{response.importing_country}",
        subject=response.application_id,
        id=derived_id(response.importing_country, response.response_id),
    )


class WorkerWeb(Service):
    """aiohttp server started by Faust after table recovery (so ``/readyz`` means ready)."""

    def __init__(self, app: faust.App, settings: Settings, **kwargs: Any) -> None:
        self.faust_app = app
        self.settings = settings
        self.trust = trust_view(app, settings)
        self._runner: web.AppRunner | None = None
        super().__init__(**kwargs)

    async def _sink(self, response: CustomsResponse) -> None:
        """Publish the response; a broker that does not take it makes the customs retry (503)."""
        key, value, headers = events.to_record(response_event(response))
        try:
            fut = await raw_topic(self.faust_app, "eco.customs-response").send(
                key=key, value=value, headers=headers)
            await fut
        except (TimeoutError, KafkaError, OSError) as exc:
            raise DependencyUnavailable(f"cannot record the customs response: {exc}") from exc
        log.info("customs_response_received", application_id=response.application_id,
                 country=response.importing_country, status=response.status,
                 response_id=response.response_id)

    async def on_start(self) -> None:
        web_app = web.Application(client_max_size=2 * 1024 * 1024)
        web_app.add_routes([
            web.get("/metrics", aiohttp_metrics_handler),
            web.get("/healthz", self._healthz),
            web.get("/readyz", self._healthz),
            web.get("/trust", self._trust),
            *response_routes(self._sink, authenticate=signed_by_customs(
                self.settings.customs_trust, response_keys(self.settings))),
        ])
        record_build_info()  # metrics: eco_build_info and the consumer's lag per partition
        watch_consumer_lag(lambda: faust_offsets(self.faust_app.consumer))
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.worker_web_host,
                           self.settings.worker_web_port)
        await site.start()
        log.info("worker_web_started", host=self.settings.worker_web_host,
                 port=self.settings.worker_web_port)

    async def on_stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _trust(self, request: web.Request) -> web.Response:
        """The registry: per entry the authority, its certificate, its period in force and
        ``in_force_now``; 503 with the reason when the trust files cannot be read."""
        now = datetime.now(UTC)
        try:
            registry = self.trust.current()
        except (OSError, ValueError) as exc:
            return web.json_response({"error": f"trust registry unavailable: {exc}"}, status=503)
        return web.json_response({"at": now.isoformat(), "authorities": describe(registry, now),
                                  "skipped": [{"id": i, "reason": r}
                                              for i, r in self.trust.skipped]})
