"""The portal's ASGI application: FastAPI with the API, the web pages, health and metrics,
problem+json errors, security headers and limits, and the view kept up to date from Kafka."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from connectors.portal import api, customs, pages
from connectors.portal.guards import BodyLimit, RateLimiter, SecurityHeaders
from connectors.portal.metering import VIEW_RECORDS, RequestMetrics
from connectors.portal.problems import (
    ApiProblem,
    on_api_problem,
    on_http_error,
    on_unexpected,
    on_validation_error,
)
from connectors.portal.state import Portal
from connectors.portal.tokens import TokenVerifier
from pipeline import feeds
from pipeline.metrics import metrics_response, record_build_info
from pipeline.settings import Settings

STATIC = Path(__file__).with_name("static")
log = structlog.get_logger("eco.portal")


def portal_from_settings(settings: Settings) -> Portal:
    verifier = TokenVerifier(settings.oidc_issuer, settings.api_audience,
                             ca_file=settings.oidc_ca_file, leeway=settings.oidc_leeway)

    async def publish(envelopes: Any) -> None:
        await feeds.publish(settings.kafka_bootstrap, list(envelopes))

    return Portal(settings=settings, verifier=verifier, publish=publish,
                  limiter=RateLimiter(settings.portal_rate_limit))


async def follow_view(portal: Portal) -> None:
    """Build the view from the start of its topics, then keep following them; a broker that
    goes away is waited for (readiness says so)."""
    from agents import COMPACTED_TOPICS, INTERNAL_TOPICS, PUBLIC_TOPICS, RETAINED_TOPICS
    from connectors.portal.view import TOPICS
    from pipeline.topics import create_topics

    settings = portal.settings
    while True:
        try:
            await create_topics(settings.kafka_bootstrap, [*PUBLIC_TOPICS, *INTERNAL_TOPICS],
                                settings.kafka_partitions, compacted=COMPACTED_TOPICS,
                                retained=RETAINED_TOPICS)

            def caught_up() -> None:
                portal.ready = True
                log.info("portal_view_current", applications=len(portal.view.statuses),
                         certificates=len(portal.view.certificates))

            async for record in feeds.follow_topics(settings.kafka_bootstrap, TOPICS,
                                                    on_caught_up=caught_up):
                portal.view.apply(record.topic, record.key, record.value, list(record.headers))
                VIEW_RECORDS.labels(record.topic).inc()
                await portal.notify()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a broker gone away, a topic deleted: read again
            portal.ready = False
            log.warning("portal_view_interrupted", reason=str(exc))
            await asyncio.sleep(2)  # back-off before reconnecting to the broker


def create_app(portal: Portal, *, follow: bool = True) -> FastAPI:
    """The portal; ``follow=False`` leaves the view as given (tests of the HTTP layer)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(follow_view(portal)) if follow else None
        if not follow:
            portal.ready = True
        try:
            yield
        finally:
            app.state.closing = True
            await portal.notify()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    app = FastAPI(title="eco-pipeline Origin Service Portal", version="1",
                  description="Applications for certificates of origin (RCEP, ACFTA Form E), "
                  "their status, certificates and previews. Bearer tokens from the OpenID "
                  "provider; errors are application/problem+json (RFC 9457).",
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.portal = portal
    app.state.closing = False
    app.add_exception_handler(ApiProblem, on_api_problem)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
    app.add_exception_handler(pages.SignInNeeded, pages.on_sign_in_needed)
    app.include_router(api.router)
    app.include_router(customs.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], responses={503: api.PROBLEM})
    async def readyz() -> JSONResponse:
        """Readiness: the view has caught up with the topics."""
        if portal.ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"type": "https://eco-pipeline.dev/problems/not-ready",
                             "title": "Not ready", "status": 503,
                             "detail": "the portal's view is still reading the topics"},
                            status_code=503, media_type="application/problem+json")

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics: the process's registry."""
        body, content_type = metrics_response()
        return Response(body, headers={"Content-Type": content_type})

    record_build_info()
    app.add_middleware(BodyLimit, limit=portal.settings.portal_max_body)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestMetrics)
    return app
