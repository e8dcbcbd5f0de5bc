"""Transmission stage: delivers each signed certificate to the importing customs, and sends the
issuing authority's clarifications (Form E Rule 8(e)-(f), RCEP Article 3.24) the same way.

Wiring only: the handler turns an event into a ``PendingDelivery`` and admits it
(``pipeline.stages.transmission.decide``); a country without a direct connection goes to the
manual-fallback channel at once, every other delivery enters the durable retry schedule and the
handler returns. The delivery runner (``agents.deliveries``) makes the calls concurrently, with
bounded retries, back-off and a durable circuit breaker per country, so one customs that is
down never delays certificates bound elsewhere.
"""

from __future__ import annotations

from typing import Any

import faust

from agents.deliveries import DeliveryRunner
from agents.frame import StageContext, install_stage
from connectors.customs.registry import CountryRegistry
from connectors.customs.tls import customs_client_context
from pipeline.events import Envelope
from pipeline.settings import Settings
from pipeline.stages.transmission import Arrived, pending_delivery


def install(app: faust.App, settings: Settings, registry: CountryRegistry | None = None) -> None:
    countries = registry or CountryRegistry.from_settings(
        settings, ssl_context=customs_client_context(settings))
    runner = DeliveryRunner(app, settings, countries)

    async def transmit(envelope: Envelope, ctx: StageContext) -> None:
        delivery = pending_delivery(envelope)
        if delivery is not None:
            connected = countries.connector_for(delivery.importing_country) is not None
            runner.admit(await runner.apply_now(Arrived(delivery, connected)))

    # Clarifications are published to eco.transmission; the stage ignores its own outputs there.
    install_stage(app, settings, "transmission", ["eco.issuance", "eco.transmission"], transmit)

    async def run_deliveries() -> None:
        await runner.run()

    app.task(run_deliveries)

    async def rebalanced(sender: Any, *args: Any, **kwargs: Any) -> None:
        runner.rebalanced()

    async def close_connectors(sender: Any, *args: Any, **kwargs: Any) -> None:
        """Close the connectors' HTTP sessions when the worker stops."""
        await countries.close()

    app.on_partitions_assigned.connect(rebalanced)  # type: ignore[arg-type]
    app.on_before_shutdown.connect(close_connectors)  # type: ignore[arg-type]
