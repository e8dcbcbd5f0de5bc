"""The delivery runner of the transmission stage: the thin shell around
``pipeline.stages.transmission.decide``.

The stage's handler only admits a delivery to the durable retry schedule and returns, so the
stage keeps consuming. The runner, a task of the worker, takes due deliveries from the schedule
and makes the HTTP calls concurrently: at most ``ECO_CUSTOMS_IN_FLIGHT`` per country, over the
one reused HTTP session of that country's connector. A country whose circuit is open holds only
its own deliveries; the others go out as usual.

Both the schedule and the circuits are Kafka-backed tables, so a restart keeps them. They are
written outside any stream event, so their changelog partition comes from the key
(``use_partitioner``). The circuits are a global table: every worker of the group sees the same
circuit of a country. A delivery leaves the schedule only after its outcome is published; a
crash in between repeats the call with the same idempotency key and the same output ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import faust
import structlog
from prometheus_client import Gauge

from agents.bodies import CertificateBodies
from agents.frame import derived_id, publish_now
from connectors.customs.circuit import CircuitBreaker
from connectors.customs.protocol import Clarification, Delivery, Receipt
from connectors.customs.registry import CountryRegistry
from pipeline import events
from pipeline.app import IN_MEMORY
from pipeline.errors import BusinessRejection, CustomsTemporaryFailure
from pipeline.events import Envelope
from pipeline.metrics import (
    KNOWN_COUNTRIES,
    countries_known,
    record_alert,
    record_circuit,
    record_delivery_retry,
    record_fallback,
    record_transmission,
)
from pipeline.retryschedule import RetryIndex, schedule_key
from pipeline.settings import Settings
from pipeline.stages.transmission import (
    ALERT,
    SOURCE,
    Answer,
    Attempted,
    DeliveryEvent,
    DeliveryPolicy,
    Due,
    NoAnswer,
    PendingDelivery,
    Refused,
    Transition,
    decide,
)

SCHEDULED = Gauge("eco_transmission_scheduled",
                  "Deliveries waiting in the transmission retry schedule, by country",
                  ["country"])
IN_FLIGHT = Gauge("eco_transmission_in_flight",
                  "Deliveries to a country's customs under way right now", ["country"])
SHORT_LIVED = {"segment.ms": "600000", "delete.retention.ms": "600000",
               "min.cleanable.dirty.ratio": "0.1"}
"""Changelog settings of the two in-memory tables, read whole at every start: a delivery's
entry lives minutes, so segments roll every 10 minutes and are compacted early, and the
deletion markers of ended deliveries go after 10 minutes; a start reads what is pending, not
every delivery ever made. (Set when the topics are created.)"""
LONGEST_WAIT = 0.5
"""Seconds the runner sleeps at most before looking at the schedule again."""

class DeliveryRunner:
    """Dispatches due deliveries from the retry schedule and applies their outcomes."""

    def __init__(self, app: faust.App, settings: Settings, countries: CountryRegistry,
                 clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.countries = countries
        self.policy = DeliveryPolicy.from_settings(settings)
        self.settings = settings
        self.clock = clock
        # Written by the runner's task, outside any stream event: Faust's RocksDB store can
        # only write for the event being processed, so these two small tables stay in memory
        # (rebuilt from their changelogs on start, so a restart keeps them all the same).
        self.schedule: Any = app.Table("transmission-schedule", default=dict,
                                       partitions=settings.kafka_partitions,
                                       use_partitioner=True, store=IN_MEMORY,
                                       extra_topic_configs=SHORT_LIVED)
        self.circuits: Any = app.GlobalTable("transmission-circuits", default=dict,
                                             partitions=settings.kafka_partitions,
                                             use_partitioner=True, store=IN_MEMORY,
                                             extra_topic_configs=SHORT_LIVED)
        self.log = structlog.get_logger("eco.stage").bind(stage="transmission")
        self.publish: Callable[[Envelope], Awaitable[None]] = self._publish_event
        countries_known(KNOWN_COUNTRIES)  # metrics: the corridor's series at zero
        self.bodies = CertificateBodies(settings)  # signed XML: eco.issuance, not the table
        self.index = RetryIndex()
        self.busy: dict[str, str] = {}  # delivery id -> country, calls and publications under way
        self.in_flight: dict[str, int] = {}
        self._tasks: set[asyncio.Future[None]] = set()
        self._wake = asyncio.Event()
        self._stale = True
        self._was_recovering = False

    # -- the circuits ---------------------------------------------------------------------
    def circuit(self, country: str) -> CircuitBreaker:
        """The country's circuit as the table holds it (closed if it has none)."""
        known = self.circuits.get(country)
        if known:
            return CircuitBreaker.from_json(known)
        return CircuitBreaker(self.settings.circuit_failures, self.settings.circuit_reset)

    def _set_circuit(self, country: str, after: CircuitBreaker) -> None:
        if after != self.circuit(country):
            self.circuits[country] = after.to_json()
        record_circuit(country, after.is_open)

    # -- the schedule ---------------------------------------------------------------------
    def admit(self, transition: Transition) -> None:
        """Put a delivery admitted outside a stage's batch into the schedule (unless already
        pending)."""
        entry = self.entry(transition)
        if entry is not None:
            key, delivery = entry
            self.schedule[key] = delivery.to_json()
            self.admitted(key, delivery)

    def entry(self, transition: Transition) -> tuple[str, PendingDelivery] | None:
        """The schedule entry (key, delivery as kept) of a delivery the stage admitted, for the
        stage to write with its batch; None when the delivery is already pending. The runner
        takes it only once the batch is in Kafka (:meth:`admitted`): its own later writes of
        the entry then follow the stage's in the changelog."""
        delivery = transition.scheduled
        if delivery is None or delivery.delivery_id in self.index or \
                delivery.delivery_id in self.busy:
            return None
        kept = self.bodies.keep(delivery)
        return schedule_key(kept), kept

    def admitted(self, key: str, delivery: PendingDelivery) -> None:
        """A delivery's schedule entry, written by the stage, is in Kafka: due from now."""
        if delivery.delivery_id in self.index or delivery.delivery_id in self.busy:
            return
        self.index.put(delivery, key)
        SCHEDULED.labels(delivery.importing_country).set(
            self.index.count(delivery.importing_country))
        self._wake.set()

    def _put(self, delivery: PendingDelivery) -> None:
        delivery = self.bodies.keep(delivery)
        key = schedule_key(delivery)
        old = self.index.put(delivery, key)
        self.schedule[key] = delivery.to_json()
        if old is not None and old in self.schedule:
            del self.schedule[old]
        SCHEDULED.labels(delivery.importing_country).set(self.index.count(delivery.importing_country))

    def _remove(self, delivery: PendingDelivery) -> None:
        self.bodies.forget(delivery)
        key = self.index.pop(delivery.delivery_id)
        if key is not None and key in self.schedule:
            del self.schedule[key]
        SCHEDULED.labels(delivery.importing_country).set(self.index.count(delivery.importing_country))

    def rebalanced(self) -> None:
        """Partitions moved: rebuild the index from the table once the recovery is over."""
        self._stale = True
        self._wake.set()

    def _rebuild(self) -> None:
        rows = list(self.schedule.items())
        self.index = RetryIndex.of(rows, skip=self.busy)
        for key, value in rows:  # a second entry of one delivery (a batch tried again)
            kept = self.index.key_of(PendingDelivery.from_json(value).delivery_id)
            if kept is not None and kept != key:
                del self.schedule[key]
        self._stale = False
        self.log.info("transmission_schedule_loaded", pending=len(self.index))

    # -- the loop -------------------------------------------------------------------------
    async def run(self) -> None:
        """Dispatch due deliveries until the worker stops."""
        while True:
            recovering = bool(self.app.in_recovery)
            if self._was_recovering and not recovering:
                self._stale = True
            self._was_recovering = recovering
            wait = LONGEST_WAIT
            if not recovering:
                if self._stale:
                    self._rebuild()
                wait = self._dispatch()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(wait, 0.005))

    def _dispatch(self) -> float:
        """Start every delivery that may go now; the seconds until one more might."""
        now = self.clock()
        wait = LONGEST_WAIT
        for country in self.index.countries():
            while (first := self.index.first(country)) is not None:
                if first.due > now:
                    wait = min(wait, first.due - now)
                    break
                circuit = self.circuit(country)
                transition = decide(circuit, Due(first, self.in_flight.get(country, 0)), now,
                                    self.policy)
                if transition.send:
                    self._count_in_flight(country, +1)  # now, before the next decision
                    self._start(first, self._attempt(first))
                elif transition.scheduled is None:
                    self._start(first, self._apply(first, transition))
                else:
                    if circuit.is_open and not circuit.allows(now):
                        wait = min(wait, circuit.retry_at - now,
                                   self.policy.fallback_after - circuit.open_for(now))
                    break  # this country waits; the others carry on
        return wait

    def _start(self, delivery: PendingDelivery, work: Any) -> None:
        self.index.pop(delivery.delivery_id)
        self.busy[delivery.delivery_id] = delivery.importing_country
        task = asyncio.ensure_future(self._finish(delivery, work))
        self._tasks.add(task)  # kept until done: the loop holds tasks only weakly
        task.add_done_callback(self._tasks.discard)

    async def _finish(self, delivery: PendingDelivery, work: Any) -> None:
        try:
            await work
        except Exception as exc:  # the outcome could not be recorded: try again later
            self.log.error("delivery_not_recorded", error=type(exc).__name__, reason=str(exc),
                           application_id=delivery.application_id)
            self._put_back(delivery)
        finally:
            self.busy.pop(delivery.delivery_id, None)
            self._wake.set()

    def _put_back(self, delivery: PendingDelivery) -> None:
        later = PendingDelivery(**{**delivery.to_json(),
                                   "due": self.clock() + self.policy.retry_backoff})
        self.index.put(delivery, schedule_key(delivery))  # the key still in the table
        self._put(later)

    def _count_in_flight(self, country: str, change: int) -> None:
        self.in_flight[country] = self.in_flight.get(country, 0) + change
        IN_FLIGHT.labels(country).set(self.in_flight[country])

    async def _attempt(self, delivery: PendingDelivery) -> None:
        country = delivery.importing_country
        try:
            answer = await self._call(delivery)
        finally:
            self._count_in_flight(country, -1)
        transition = decide(self.circuit(country), Attempted(delivery, answer), self.clock(),
                            self.policy)
        await self._apply(delivery, transition)

    async def _call(self, d: PendingDelivery) -> Answer:
        connector = self.countries.connector_for(d.importing_country)
        if connector is None:
            return Refused(f"{d.importing_country} has no connector any more")
        try:
            body = await self.bodies.body(d)
            if d.kind == "clarification":
                return await connector.send_clarification(Clarification(
                    d.application_id, d.certificate_number, d.version, d.importing_country,
                    body))
            receipt: Receipt = await connector.deliver(Delivery(
                d.application_id, d.certificate_number, d.version, d.importing_country,
                body.encode()))
            return receipt
        except BusinessRejection as exc:
            return Refused(str(exc))
        except CustomsTemporaryFailure as exc:
            return NoAnswer(str(exc))

    async def _apply(self, delivery: PendingDelivery, transition: Transition) -> None:
        """Record a transition: circuit, published events, then the schedule."""
        self._set_circuit(delivery.importing_country, transition.circuit)
        await self._publish_all(delivery, transition)
        self.index.put(delivery, schedule_key(delivery))  # the key the table holds
        if transition.scheduled is None:
            self._remove(delivery)
        else:
            self._put(transition.scheduled)

    async def apply_now(self, event: DeliveryEvent) -> Transition:
        """Decide an event in the handler (an arrival) and publish what it decided at once."""
        delivery = event.delivery
        transition = decide(self.circuit(delivery.importing_country), event, self.clock(),
                            self.policy)
        await self._publish_all(delivery, transition)
        return transition

    async def _publish_event(self, envelope: Envelope) -> None:
        """Publish one event now, awaiting the broker's ack (outside the frame's batches)."""
        await publish_now(self.app, envelope)

    async def _publish_all(self, delivery: PendingDelivery, transition: Transition) -> None:
        """A transition's log lines, its events (each awaited until the broker has it) and
        its count."""
        log = self.log.bind(application_id=delivery.application_id,
                            certificate_number=delivery.certificate_number)
        for note in transition.notes:
            getattr(log, note.level)(note.event, **note.fields)
        for output in transition.outputs:
            event_id = derived_id(*output.id_parts)
            data = dict(output.data)
            if output.ce_type == ALERT:
                data["alert_id"] = event_id
                record_alert(data["kind"], data.get("importing_country"))
                log.warning("alert_raised", kind=data["kind"], severity=data["severity"],
                            alert_id=event_id)
            await self.publish(events.new_envelope(
                output.ce_type, data, source=SOURCE, subject=output.subject, id=event_id,
                traceparent=output.traceparent))
        for note in transition.notes:
            if note.event == "transmission_retry":
                record_delivery_retry(delivery.importing_country)
            elif note.event == "transmission_fallback":
                record_fallback(delivery.importing_country, str(note.fields.get("cause")))
        if transition.outcome is not None and transition.outcome != "fallback":
            record_transmission(delivery.importing_country, transition.outcome)
