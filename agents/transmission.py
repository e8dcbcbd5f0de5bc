"""Transmission stage: delivers each signed certificate to the importing customs through
that country's connector, with bounded retries and exponential back-off with jitter.
A country without a direct connection goes to the manual-fallback channel, visibly."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from typing import Any

import faust

from agents.frame import StageContext, derived_id, install_stage
from connectors.customs.protocol import CustomsConnector, Delivery, Receipt
from connectors.customs.registry import CountryRegistry
from pipeline import events
from pipeline.errors import BusinessRejection, CustomsTemporaryFailure
from pipeline.events import Envelope
from pipeline.metrics import TRANSMISSIONS
from pipeline.settings import Settings

ISSUED = "eco.certificate.issued.v1"


def install(app: faust.App, settings: Settings, registry: CountryRegistry | None = None) -> None:
    countries = registry or CountryRegistry.from_settings(settings)

    async def transmit(envelope: Envelope, ctx: StageContext) -> None:
        if envelope.type != ISSUED:
            return
        d = envelope.data
        number, version, country = d["certificate_number"], d["version"], d["importing_country"]
        common = {
            "application_id": envelope.subject,
            "certificate_number": number,
            "version": version,
            "importing_country": country,
        }
        ids = (envelope.subject, number, str(version))
        connector = countries.connector_for(country)
        if connector is None:
            await ctx.emit(events.new_envelope(
                "eco.transmission.fallback.v1",
                {**common, "reason": f"{country} has no direct connection: manual channel",
                 "routed_at": datetime.now(UTC)},
                source="eco/transmission", subject=envelope.subject,
                id=derived_id(*ids, "fallback"), traceparent=envelope.traceparent,
            ))
            TRANSMISSIONS.labels(country, "fallback").inc()
            ctx.log.warning("transmission_fallback", country=country, certificate_number=number)
            return
        delivery = Delivery(
            application_id=envelope.subject, certificate_number=number, version=version,
            importing_country=country, document_xml=d["document_xml"].encode(),
        )
        attempts, outcome = await _deliver(connector, delivery, settings, ctx)
        if not isinstance(outcome, Receipt):
            await ctx.emit(events.new_envelope(
                "eco.transmission.failed.v1",
                {**common, "attempts": attempts, "reason": outcome,
                 "failed_at": datetime.now(UTC)},
                source="eco/transmission", subject=envelope.subject,
                id=derived_id(*ids, "failed"), traceparent=envelope.traceparent,
            ))
            TRANSMISSIONS.labels(country, "failed").inc()
            ctx.log.error("transmission_failed", country=country, attempts=attempts,
                          reason=outcome)
            return
        await ctx.emit(events.new_envelope(
            "eco.transmission.delivered.v1",
            {**common, "channel": f"direct:{country}", "attempts": attempts,
             "receipt_id": outcome.receipt_id, "delivered_at": datetime.now(UTC)},
            source="eco/transmission", subject=envelope.subject,
            id=derived_id(*ids, "delivered"), traceparent=envelope.traceparent,
        ))
        TRANSMISSIONS.labels(country, "delivered").inc()
        ctx.log.info("transmission_delivered", country=country, attempts=attempts,
                     receipt_id=outcome.receipt_id)

    install_stage(app, settings, "transmission", ["eco.issuance"], transmit)

    async def close_connectors(sender: Any, *args: Any, **kwargs: Any) -> None:
        """Close the connectors' HTTP sessions when the worker stops."""
        await countries.close()

    app.on_before_shutdown.connect(close_connectors)  # type: ignore[arg-type]


async def _deliver(connector: CustomsConnector, delivery: Delivery, settings: Settings,
                   ctx: StageContext) -> tuple[int, Receipt | str]:
    """Try up to ``retry_attempts`` times; return the receipt, or the reason it failed."""
    attempt = 0
    while True:
        attempt += 1
        try:
            receipt = await connector.deliver(delivery)
        except BusinessRejection as exc:
            return attempt, f"refused by the customs endpoint: {exc}"
        except CustomsTemporaryFailure as exc:
            if attempt >= settings.retry_attempts:
                return attempt, f"no answer after {attempt} attempts: {exc}"
            delay = settings.retry_backoff * (2 ** (attempt - 1)) * (1 + random.random() / 2)
            ctx.log.warning("transmission_retry", attempt=attempt, delay_s=round(delay, 3),
                            reason=str(exc))
            await asyncio.sleep(delay)
            continue
        if receipt.status == "TECH_REJECTED":
            return attempt, f"technical rejection: {receipt.message}"
        return attempt, receipt
