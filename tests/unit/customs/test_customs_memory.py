"""The in-memory connector used by the stages' unit tests."""

from __future__ import annotations

import asyncio

import pytest

from connectors.customs.memory import InMemoryCustomsConnector
from connectors.customs.protocol import Clarification, Delivery
from pipeline.errors import BusinessRejection, CustomsTemporaryFailure

DELIVERY = Delivery("app-1", "E26CN0001", 1, "VN", b"<eco/>")


def test_records_each_key_once_and_repeats_the_receipt() -> None:
    connector = InMemoryCustomsConnector("VN")
    first = asyncio.run(connector.deliver(DELIVERY))
    again = asyncio.run(connector.deliver(DELIVERY))
    assert first == again
    assert first.status == "ACKNOWLEDGED"
    assert connector.deliveries == [DELIVERY]
    assert connector.attempts["E26CN0001:1"] == 2


def test_configured_failures_come_first_in_order() -> None:
    connector = InMemoryCustomsConnector(failures=[CustomsTemporaryFailure("503")])
    connector.fail_next(BusinessRejection("422"))
    with pytest.raises(CustomsTemporaryFailure):
        asyncio.run(connector.deliver(DELIVERY))
    with pytest.raises(BusinessRejection):
        asyncio.run(connector.deliver(DELIVERY))
    assert asyncio.run(connector.deliver(DELIVERY)).status == "ACKNOWLEDGED"
    assert connector.attempts["E26CN0001:1"] == 3
    assert len(connector.deliveries) == 1


def test_tech_rejection_and_clarifications() -> None:
    connector = InMemoryCustomsConnector("TH", tech_reject=True)
    clarification = Clarification("app-2", "E26CN0002", 1, "TH", "see cost statement")
    receipt = asyncio.run(connector.send_clarification(clarification))
    assert receipt.status == "TECH_REJECTED"
    assert connector.clarifications == [clarification]
    assert connector.deliveries == []
