"""The delivery runner (agents.deliveries) with in-memory tables and connectors: deliveries to
a country that is down wait in the schedule while another country's go out concurrently,
never more than ECO_CUSTOMS_IN_FLIGHT at once; a runner built on the same tables (a restart)
picks the schedule and the open circuit up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

import faust
from faust.stores.memory import Store as MemoryStore

from agents.deliveries import DeliveryRunner
from connectors.customs.protocol import Clarification, Delivery, Receipt
from connectors.customs.registry import CountryRegistry
from pipeline.errors import CustomsTemporaryFailure
from pipeline.events import Envelope
from pipeline.settings import Settings
from pipeline.stages.transmission import Arrived, PendingDelivery

SETTINGS = Settings(retry_attempts=3, retry_backoff=0.01, circuit_failures=2,
                    circuit_reset=60.0, circuit_fallback_after=3600.0, customs_in_flight=3)


class Tables:
    """In-memory stand-ins for the app's tables, shared between runners like changelogs."""

    def __init__(self) -> None:
        self.made: dict[str, dict[str, Any]] = {}
        self.in_recovery = False

    def Table(self, name: str, **_: Any) -> dict[str, Any]:
        return self.made.setdefault(name, {})

    GlobalTable = Table


@dataclass
class Customs:
    """A country's customs that answers after a short while, or is down."""

    down: bool = False
    now: int = 0
    most: int = 0
    delivered: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)

    async def deliver(self, delivery: Delivery) -> Receipt:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(0.02)
            if self.down:
                raise CustomsTemporaryFailure("503 Service unavailable")
            self.delivered.append(delivery.application_id)
            self.bodies.append(delivery.document_xml.decode())
            return Receipt(f"R-{delivery.application_id}", "ACKNOWLEDGED")
        finally:
            self.now -= 1

    async def send_clarification(self, clarification: Clarification) -> Receipt:
        raise AssertionError("no clarification in this test")


def runner_on(tables: Tables, vn: Customs, th: Customs) -> tuple[DeliveryRunner,
                                                                   list[Envelope]]:
    runner = DeliveryRunner(tables, SETTINGS,  # type: ignore[arg-type]
                            CountryRegistry.of(connectors={"VN": vn, "TH": th}))
    published: list[Envelope] = []

    async def emit(envelope: Envelope) -> None:
        published.append(envelope)

    runner.publish = emit
    return runner, published


def pending(app_id: str, country: str) -> PendingDelivery:
    return PendingDelivery("certificate", app_id, f"E-{app_id}", 1, country, "<x/>",
                           f"ev-{app_id}")


async def until(condition: Any, what: str, timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)  # polling interval of a deadline-bounded wait

    try:
        await asyncio.wait_for(poll(), timeout)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def test_a_country_that_is_down_holds_only_its_own_deliveries() -> None:
    tables, vn, th = Tables(), Customs(), Customs(down=True)

    async def run() -> None:
        runner, published = runner_on(tables, vn, th)
        loop = asyncio.create_task(runner.run())
        for n in range(4):
            runner.admit(await runner.apply_now(Arrived(pending(f"th-{n}", "TH"), True)))
        await until(lambda: runner.circuit("TH").is_open, "the circuit of TH to open")
        for n in range(12):
            runner.admit(await runner.apply_now(Arrived(pending(f"vn-{n}", "VN"), True)))
        await until(lambda: len(vn.delivered) == 12, "every VN certificate delivered")
        loop.cancel()
        assert vn.most == SETTINGS.customs_in_flight, "concurrent, and bounded"
        assert {e.subject for e in published} == {f"vn-{n}" for n in range(12)}
        assert {e.type for e in published} == {"eco.transmission.delivered.v1"}
        assert runner.index.count("TH") == 4, "TH waits in the schedule, none failed"

        again, _ = runner_on(tables, vn, Customs())  # a restart on the same tables
        again._rebuild()
        assert again.circuit("TH").is_open and again.index.count("TH") == 4
        assert again.index.count("VN") == 0, "what was delivered left the schedule"

    asyncio.run(run())


def test_the_runner_keeps_its_tables_in_memory_whatever_the_store_of_the_app() -> None:
    """Written outside any stream event, which Faust's RocksDB store cannot do."""
    app = faust.App("eco-runner-test", store="rocksdb://", autodiscover=False)
    runner = DeliveryRunner(app, SETTINGS, CountryRegistry.of(connectors={}))
    for table in (runner.schedule, runner.circuits):
        assert isinstance(table.data, MemoryStore), table.name


def test_the_schedule_keeps_where_a_certificate_is_not_its_signed_xml() -> None:
    tables, vn, th = Tables(), Customs(), Customs(down=True)
    xml = "<Certificate>" + "x" * 5000 + "</Certificate>"

    async def run() -> None:
        runner, _ = runner_on(tables, vn, th)
        loop = asyncio.create_task(runner.run())
        for n, country in enumerate(("TH", "VN")):
            delivery = replace(pending(f"{country}-{n}", country), body=xml,
                               source=f"eco.issuance:3:{40 + n}")
            runner.admit(await runner.apply_now(Arrived(delivery, True)))
        await until(lambda: len(vn.delivered) == 1, "the VN certificate delivered")
        await until(lambda: runner.index.count("TH") == 1 and "TH-0" not in runner.busy,
                    "the TH certificate waiting in the schedule")
        loop.cancel()
        stored = list(tables.made["transmission-schedule"].values())
        assert [entry["source"] for entry in stored] == ["eco.issuance:3:40"]
        assert all(entry["body"] == "" for entry in stored), "no signed XML in the table"
        assert vn.bodies == [xml], "the customs got the whole certificate all the same"
        assert await runner.bodies.body(PendingDelivery.from_json(stored[0])) == xml

    asyncio.run(run())


def test_a_delivery_admitted_with_a_batch_is_taken_only_once_its_entry_is_in_kafka() -> None:
    tables, vn, th = Tables(), Customs(), Customs()

    async def run() -> None:
        runner, published = runner_on(tables, vn, th)
        arrived = await runner.apply_now(Arrived(pending("vn-0", "VN"), True))
        entry = runner.entry(arrived)
        assert entry is not None
        key, delivery = entry
        assert tables.made["transmission-schedule"] == {}, "the stage writes it, with its batch"
        tables.made["transmission-schedule"][key] = delivery.to_json()  # the batch's write
        runner._stale = False
        runner._dispatch()
        assert not runner.busy and len(runner.index) == 0, "not taken before it is in Kafka"

        runner.admitted(key, delivery)  # the batch is in Kafka
        assert runner.entry(arrived) is None, "pending: a redelivery writes no second entry"
        loop = asyncio.create_task(runner.run())
        await until(lambda: vn.delivered == ["vn-0"], "the certificate delivered")
        await until(lambda: not runner.busy, "the outcome recorded")
        loop.cancel()
        assert [e.type for e in published] == ["eco.transmission.delivered.v1"]
        assert tables.made["transmission-schedule"] == {}, "the entry left the schedule"

    asyncio.run(run())


def test_a_second_entry_of_one_delivery_leaves_the_schedule_when_it_is_loaded() -> None:
    """A batch tried again after its entries were written writes a delivery's entry again,
    due later; loading the schedule keeps the later one and removes the other."""
    tables, vn, th = Tables(), Customs(), Customs()

    async def run() -> None:
        runner, _ = runner_on(tables, vn, th)
        first = await runner.apply_now(Arrived(pending("vn-0", "VN"), True))
        later = await runner.apply_now(Arrived(pending("vn-0", "VN"), True))
        for arrived, shift in ((first, 0.0), (later, 5.0)):
            assert arrived.scheduled is not None
            delivery = replace(arrived.scheduled, due=arrived.scheduled.due + shift)
            entry = runner.entry(replace(arrived, scheduled=delivery))
            assert entry is not None
            tables.made["transmission-schedule"][entry[0]] = entry[1].to_json()
        other = await runner.apply_now(Arrived(pending("th-0", "TH"), True))
        runner.admit(other)
        assert len(tables.made["transmission-schedule"]) == 3

        runner._rebuild()
        assert len(runner.index) == 2
        kept = runner.index.get(pending("vn-0", "VN").delivery_id)
        assert kept is not None and kept.due == later.scheduled.due + 5.0
        assert sorted(tables.made["transmission-schedule"]) == sorted(
            [runner.index.key_of(d.delivery_id) for d in runner.index])

    asyncio.run(run())
