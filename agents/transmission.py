"""Transmission stage: delivers each signed certificate to the importing customs, and sends the
issuing authority's clarifications (Form E Rule 8(e)-(f), RCEP Article 3.24) the same way.

Wiring only: the stage's state per application is the last version it admitted
(``pipeline.stages.transmission.admission``), so a redelivered certificate is not delivered
again; a new one is admitted (``pipeline.stages.transmission.decide``): a country without a
direct connection goes to the manual-fallback channel at once, every other delivery enters the
durable retry schedule and the stage goes on. The delivery runner (``agents.deliveries``)
makes the calls concurrently, with bounded retries, back-off and a durable circuit breaker
per country, so one customs that is down never delays certificates bound elsewhere.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import faust

from agents.deliveries import DeliveryRunner
from agents.frame import Batch, Stage, json_table, keyed, run_stage
from agents.records import position_of
from connectors.customs.registry import CountryRegistry
from connectors.customs.tls import customs_client_context
from pipeline.events import Envelope
from pipeline.settings import Settings
from pipeline.stages import Note, Transition
from pipeline.stages.transmission import Arrived, PendingDelivery, admission

ADMITTED = "transmission-admitted"
SCHEDULE = "transmission-schedule"
State = tuple[dict[str, int], tuple[str, PendingDelivery] | None]
"""The stage's state of an application: the versions admitted, and the schedule entry (key,
delivery) of the one it admits now."""


def install(app: faust.App, settings: Settings, registry: CountryRegistry | None = None) -> None:
    countries = registry or CountryRegistry.from_settings(
        settings, ssl_context=customs_client_context(settings))
    runner = DeliveryRunner(app, settings, countries)

    load_admitted, save_admitted = keyed(ADMITTED, default={})

    def load(envelope: Envelope, batch: Batch) -> State:
        return load_admitted(envelope, batch), None

    async def transmit(state: State, envelope: Envelope, now: datetime) -> Transition[State]:
        message = faust.current_event().message  # type: ignore[union-attr]
        admitted, delivery = admission(state[0], envelope, position_of(message))
        if delivery is None:
            return Transition((admitted, None))
        connected = countries.connector_for(delivery.importing_country) is not None
        arrived = await runner.apply_now(Arrived(delivery, connected))
        return Transition((admitted, runner.entry(arrived)), notes=(Note(
            "delivery_admitted", fields={"kind": delivery.kind, "version": delivery.version,
                                         "importing_country": delivery.importing_country}),))

    def save(envelope: Envelope, state: State, batch: Batch) -> None:
        admitted, entry = state
        save_admitted(envelope, admitted, batch)
        if entry is not None:
            key, delivery = entry
            batch.put(SCHEDULE, key, delivery.to_json())
            batch.when_committed(functools.partial(runner.admitted, key, delivery))

    # Clarifications are published to eco.transmission; the stage ignores its own outputs there.
    # A delivery's schedule entry is written with the batch, through the stage's producer;
    # the admission is written last, once the entries are in Kafka: a worker killed in
    # between finds the delivery not admitted and admits it again (the schedule keeps one
    # entry per delivery), never admitted with no entry in the schedule. The runner takes
    # the deliveries only then, so its own writes of an entry follow the stage's.
    run_stage(app, settings, Stage("transmission", ["eco.issuance", "eco.transmission"],
                                   {ADMITTED: json_table(app, settings, ADMITTED, dict),
                                    SCHEDULE: runner.schedule},
                                   load, transmit, save, after=(ADMITTED,)))

    async def run_deliveries() -> None:
        await runner.run()

    app.task(run_deliveries)

    async def rebalanced(sender: Any, *args: Any, **kwargs: Any) -> None:
        runner.rebalanced()

    async def close_connectors(sender: Any, *args: Any, **kwargs: Any) -> None:
        """Close the connectors' HTTP sessions when the worker stops."""
        await countries.close()
        await runner.bodies.close()

    app.on_partitions_assigned.connect(rebalanced)  # type: ignore[arg-type]
    app.on_before_shutdown.connect(close_connectors)  # type: ignore[arg-type]
