"""Delivery keys and the receipt wire format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.customs.protocol import (
    Clarification,
    Delivery,
    Receipt,
    receipt_from_json,
    receipt_to_json,
)
from pipeline.errors import InvalidInput


def test_delivery_key_is_certificate_number_and_version() -> None:
    delivery = Delivery("app-1", "E2601234", 2, "VN", b"<eco/>")
    assert delivery.idempotency_key == "E2601234:2"


def test_clarification_key_differs_from_the_delivery_key() -> None:
    clarification = Clarification("app-1", "E2601234", 2, "TH", "cost statement attached")
    assert clarification.idempotency_key == "E2601234:2:clarification"


@given(
    receipt_id=st.text(min_size=1),
    status=st.sampled_from(["ACKNOWLEDGED", "TECH_REJECTED"]),
    message=st.text(),
)
def test_receipt_round_trips(receipt_id: str, status: str, message: str) -> None:
    receipt = Receipt(receipt_id, status, message)  # type: ignore[arg-type]
    assert receipt_from_json(receipt_to_json(receipt)) == receipt


def test_receipt_faults_are_named_by_path() -> None:
    with pytest.raises(InvalidInput) as caught:
        receipt_from_json({"receipt_id": "", "status": "MAYBE", "message": 3})
    assert [p.path for p in caught.value.problems] == ["receipt_id", "status", "message"]


def test_receipt_must_be_an_object() -> None:
    with pytest.raises(InvalidInput):
        receipt_from_json(["ACKNOWLEDGED"])
