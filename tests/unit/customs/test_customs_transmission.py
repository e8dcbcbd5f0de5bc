"""Delivery through a country's circuit (agents.transmission._send) against the in-memory
connector: bounded retries while closed, holding while open, the manual channel after too long."""

from __future__ import annotations

import asyncio
from typing import Any

from agents.transmission import Circuits, Failed, ToManualChannel, _send
from connectors.customs.memory import InMemoryCustomsConnector
from connectors.customs.protocol import Delivery, Receipt
from pipeline.errors import BusinessRejection, CustomsTemporaryFailure
from pipeline.settings import Settings

DELIVERY = Delivery("A-1", "E26", 1, "VN", b"<Certificate/>")


class Log:
    """Collects the event names a stage logs."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def _record(self, event: str, **_: Any) -> None:
        self.events.append(event)

    info = warning = error = _record


class Ctx:
    def __init__(self) -> None:
        self.log = Log()


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {"retry_attempts": 3, "retry_backoff": 0.001, "circuit_failures": 5,
                            "circuit_reset": 0.02, "circuit_fallback_after": 5.0}
    return Settings(**{**base, **overrides})


def send(connector: InMemoryCustomsConnector, config: Settings,
         circuits: Circuits | None = None) -> tuple[int, Any, Ctx]:
    ctx = Ctx()
    circuits = circuits or Circuits(config)
    attempts, outcome = asyncio.run(_send(lambda: connector.deliver(DELIVERY), "VN", config,
                                          circuits, ctx))  # type: ignore[arg-type]
    return attempts, outcome, ctx


def test_a_closed_circuit_retries_a_bounded_number_of_times() -> None:
    connector = InMemoryCustomsConnector()
    connector.fail_next(*[CustomsTemporaryFailure("503")] * 3)
    attempts, outcome, ctx = send(connector, settings())
    assert attempts == 3 and isinstance(outcome, Failed)
    assert outcome.reason.startswith("no answer after 3 attempts")
    assert "customs_circuit_opened" not in ctx.log.events


def test_an_open_circuit_holds_the_delivery_until_a_probe_gets_through() -> None:
    connector = InMemoryCustomsConnector()
    connector.fail_next(*[CustomsTemporaryFailure("down")] * 4)
    attempts, outcome, ctx = send(connector, settings(circuit_failures=2))
    assert isinstance(outcome, Receipt) and outcome.status == "ACKNOWLEDGED"
    assert attempts == 5 and len(connector.deliveries) == 1
    assert ctx.log.events.count("customs_circuit_opened") == 1
    assert ctx.log.events.count("customs_circuit_closed") == 1
    assert "transmission_held" in ctx.log.events


def test_a_circuit_open_past_its_time_sends_to_the_manual_channel() -> None:
    connector = InMemoryCustomsConnector()
    connector.fail_next(*[CustomsTemporaryFailure("down")] * 1000)
    config = settings(circuit_failures=1, circuit_fallback_after=0.1)
    circuits = Circuits(config)
    attempts, outcome, _ = send(connector, config, circuits)
    assert isinstance(outcome, ToManualChannel)
    assert "circuit of VN customs has been open" in outcome.reason
    assert attempts >= 2 and circuits.of("VN").is_open
    assert connector.deliveries == []


def test_a_refusal_is_final_and_proves_the_endpoint_up() -> None:
    connector = InMemoryCustomsConnector()
    connector.fail_next(CustomsTemporaryFailure("503"), BusinessRejection("422 bad"))
    attempts, outcome, _ = send(connector, settings())
    assert attempts == 2 and isinstance(outcome, Failed)
    assert "refused by the customs endpoint" in outcome.reason


def test_a_technical_rejection_fails_at_once() -> None:
    attempts, outcome, _ = send(InMemoryCustomsConnector(tech_reject=True), settings())
    assert attempts == 1 and isinstance(outcome, Failed)
    assert outcome.reason.startswith("technical rejection")
