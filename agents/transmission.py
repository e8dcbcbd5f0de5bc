"""Transmission stage: delivers each signed certificate to the importing customs through
that country's connector, with bounded retries, exponential back-off with jitter and a circuit
breaker per country; sends the issuing authority's clarifications (Form E Rule 8(e)-(f), RCEP
Article 3.24) the same way. A country without a direct connection, or one whose circuit stays
open past ``ECO_CIRCUIT_FALLBACK_AFTER``, goes to the manual-fallback channel, visibly."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust

from agents.alerts import raise_alert
from agents.frame import StageContext, derived_id, install_stage
from connectors.customs.circuit import CircuitBreaker
from connectors.customs.protocol import Clarification, Delivery, Receipt
from connectors.customs.registry import CountryRegistry
from connectors.customs.tls import customs_client_context
from pipeline import events
from pipeline.errors import BusinessRejection, CustomsTemporaryFailure
from pipeline.events import Envelope
from pipeline.metrics import (
    KNOWN_COUNTRIES,
    countries_known,
    record_circuit,
    record_delivery_retry,
    record_fallback,
    record_transmission,
)
from pipeline.settings import Settings

ISSUED = "eco.certificate.issued.v1"
CLARIFIED = "eco.certificate.clarified.v1"


@dataclass(frozen=True)
class Failed:
    """The customs could not be reached after the retries, or refused the message."""

    reason: str


@dataclass(frozen=True)
class ToManualChannel:
    """The country's circuit stayed open too long: the manual channel takes over."""

    reason: str


Outcome = Receipt | Failed | ToManualChannel


class Circuits:
    """The circuit breaker of each country, kept by this worker (a restart closes them)."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self._settings = settings
        self._clock = clock
        self._by_country: dict[str, CircuitBreaker] = {}

    def of(self, country: str) -> CircuitBreaker:
        return self._by_country.get(country) or CircuitBreaker(
            self._settings.circuit_failures, self._settings.circuit_reset)

    def now(self) -> float:
        return self._clock()

    def set(self, country: str, circuit: CircuitBreaker, ctx: StageContext) -> None:
        before = self.of(country)
        self._by_country[country] = circuit
        if circuit.is_open and not before.is_open:
            record_circuit(country, True)
            ctx.log.warning("customs_circuit_opened", country=country,
                            failures=circuit.failures)
        elif before.is_open and not circuit.is_open:
            record_circuit(country, False)
            ctx.log.info("customs_circuit_closed", country=country,
                         open_s=round(before.open_for(self.now()), 3))


def install(app: faust.App, settings: Settings, registry: CountryRegistry | None = None) -> None:
    countries = registry or CountryRegistry.from_settings(
        settings, ssl_context=customs_client_context(settings))
    circuits = Circuits(settings)
    countries_known(KNOWN_COUNTRIES)  # metrics: the corridor's series at zero

    async def transmit(envelope: Envelope, ctx: StageContext) -> None:
        if envelope.type == ISSUED:
            await _transmit_certificate(envelope, ctx)
        elif envelope.type == CLARIFIED:
            await _send_clarification(envelope, ctx)

    async def _transmit_certificate(envelope: Envelope, ctx: StageContext) -> None:
        d = envelope.data
        number, version, country = d["certificate_number"], d["version"], d["importing_country"]
        common = {"application_id": envelope.subject, "certificate_number": number,
                  "version": version, "importing_country": country}
        ids = (envelope.subject, number, str(version))
        connector = countries.connector_for(country)
        if connector is None:
            await _fallback(envelope, ctx, common, ids,
                            f"{country} has no direct connection: manual channel",
                            cause="no_connection")
            return
        delivery = Delivery(
            application_id=envelope.subject, certificate_number=number, version=version,
            importing_country=country, document_xml=d["document_xml"].encode(),
        )
        attempts, outcome = await _send(lambda: connector.deliver(delivery), country,
                                        settings, circuits, ctx)
        if isinstance(outcome, ToManualChannel):
            await _fallback(envelope, ctx, common, ids, outcome.reason, cause="circuit_open")
            return
        if isinstance(outcome, Failed):
            await ctx.emit(events.new_envelope(
                "eco.transmission.failed.v1",
                {**common, "attempts": attempts, "reason": outcome.reason,
                 "failed_at": datetime.now(UTC)},
                source="eco/transmission", subject=envelope.subject,
                id=derived_id(*ids, "failed"), traceparent=envelope.traceparent,
            ))
            record_transmission(country, "failed")
            ctx.log.error("transmission_failed", country=country, attempts=attempts,
                          reason=outcome.reason)
            return
        await ctx.emit(events.new_envelope(
            "eco.transmission.delivered.v1",
            {**common, "channel": f"direct:{country}", "attempts": attempts,
             "receipt_id": outcome.receipt_id, "delivered_at": datetime.now(UTC)},
            source="eco/transmission", subject=envelope.subject,
            id=derived_id(*ids, "delivered"), traceparent=envelope.traceparent,
        ))
        record_transmission(country, "delivered")
        ctx.log.info("transmission_delivered", country=country, attempts=attempts,
                     receipt_id=outcome.receipt_id)

    async def _send_clarification(envelope: Envelope, ctx: StageContext) -> None:
        d = envelope.data
        number, country = d["certificate_number"], d["importing_country"]
        connector = countries.connector_for(country)
        if connector is None:
            await raise_alert(
                ctx, envelope.subject, "FALLBACK_MANUAL", "WARNING",
                summary=f"the clarification on certificate {number} cannot go to {country} "
                "electronically: no direct connection",
                action="Send the approved clarification to the importing customs through the "
                "traditional channel and record its decision by hand.",
                dedup=envelope.id, certificate_number=number, country=country)
            return
        clarification = Clarification(
            application_id=envelope.subject, certificate_number=number, version=d["version"],
            importing_country=country, explanation=d["explanation"])
        attempts, outcome = await _send(lambda: connector.send_clarification(clarification),
                                        country, settings, circuits, ctx)
        if isinstance(outcome, Receipt):
            record_transmission(country, "clarification")
            ctx.log.info("clarification_delivered", country=country, attempts=attempts,
                         receipt_id=outcome.receipt_id)
            return
        await raise_alert(
            ctx, envelope.subject, "TRANSMISSION_FAILED", "CRITICAL",
            summary=f"the clarification on certificate {number} could not be delivered to "
            f"{country}: {outcome.reason}",
            action="Check the customs endpoint and its circuit; send the clarification "
            "through the manual channel meanwhile.",
            dedup=envelope.id, certificate_number=number, country=country)

    async def _fallback(envelope: Envelope, ctx: StageContext, common: dict[str, Any],
                        ids: tuple[str, ...], reason: str, cause: str) -> None:
        await ctx.emit(events.new_envelope(
            "eco.transmission.fallback.v1",
            {**common, "reason": reason, "routed_at": datetime.now(UTC)},
            source="eco/transmission", subject=envelope.subject,
            id=derived_id(*ids, "fallback"), traceparent=envelope.traceparent,
        ))
        record_fallback(common["importing_country"], cause)
        ctx.log.warning("transmission_fallback", country=common["importing_country"],
                        certificate_number=common["certificate_number"], reason=reason)

    # Clarifications are published to eco.transmission; the stage ignores its own outputs there.
    install_stage(app, settings, "transmission", ["eco.issuance", "eco.transmission"], transmit)

    async def close_connectors(sender: Any, *args: Any, **kwargs: Any) -> None:
        """Close the connectors' HTTP sessions when the worker stops."""
        await countries.close()

    app.on_before_shutdown.connect(close_connectors)  # type: ignore[arg-type]


async def _send(call: Callable[[], Awaitable[Receipt]], country: str, settings: Settings,
                circuits: Circuits, ctx: StageContext) -> tuple[int, Outcome]:
    """Call the customs through its circuit: up to ``retry_attempts`` tries while the circuit is
    closed; while it is open, wait for its probes, up to ``circuit_fallback_after``."""
    attempt = 0
    while True:
        circuit, now = circuits.of(country), circuits.now()
        if not circuit.allows(now):
            held = circuit.open_for(now)
            if held >= settings.circuit_fallback_after:
                return attempt, ToManualChannel(
                    f"the circuit of {country} customs has been open for {held:.0f} s "
                    f"(more than {settings.circuit_fallback_after:.0f} s): manual channel")
            wait = min(circuit.retry_at - now, settings.circuit_fallback_after - held)
            ctx.log.info("transmission_held", country=country, wait_s=round(wait, 3))
            await asyncio.sleep(max(wait, 0.01))
            continue
        attempt += 1
        try:
            receipt = await call()
        except BusinessRejection as exc:
            circuits.set(country, circuit.succeeded(), ctx)  # it answered: the endpoint is up
            return attempt, Failed(f"refused by the customs endpoint: {exc}")
        except CustomsTemporaryFailure as exc:
            circuit = circuit.failed(circuits.now())
            circuits.set(country, circuit, ctx)
            if circuit.is_open:
                continue  # held until a probe gets through or the manual channel takes over
            if attempt >= settings.retry_attempts:
                return attempt, Failed(f"no answer after {attempt} attempts: {exc}")
            delay = settings.retry_backoff * (2 ** (attempt - 1)) * (1 + random.random() / 2)
            record_delivery_retry(country)
            ctx.log.warning("transmission_retry", attempt=attempt, delay_s=round(delay, 3),
                            reason=str(exc))
            await asyncio.sleep(delay)
            continue
        circuits.set(country, circuit.succeeded(), ctx)
        if receipt.status == "TECH_REJECTED":
            return attempt, Failed(f"technical rejection: {receipt.message}")
        return attempt, receipt
