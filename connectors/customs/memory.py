"""An in-memory customs connector for unit tests: records what it is sent, fails on request.

It honours idempotency keys as a real customs should: a redelivery returns the first receipt
and is recorded in ``attempts`` but not again in ``deliveries``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from connectors.customs.protocol import Clarification, Delivery, Receipt, ReceiptStatus


@dataclass
class InMemoryCustomsConnector:
    """Test double of a CustomsConnector; ``failures`` are raised, in order, before any receipt."""

    country: str = "VN"
    failures: list[Exception] = field(default_factory=list)
    tech_reject: bool = False
    deliveries: list[Delivery] = field(default_factory=list)
    clarifications: list[Clarification] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    _receipts: dict[str, Receipt] = field(default_factory=dict, repr=False)

    def fail_next(self, *errors: Exception) -> None:
        """Raise these errors on the next calls, one per call, before succeeding again."""
        self.failures.extend(errors)

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Record ``delivery`` once per idempotency key and return its receipt."""
        known = self._admit(delivery.idempotency_key)
        if known is not None:
            return known
        self.deliveries.append(delivery)
        return self._new_receipt(delivery.idempotency_key)

    async def send_clarification(self, clarification: Clarification) -> Receipt:
        """Record ``clarification`` once per idempotency key and return its receipt."""
        known = self._admit(clarification.idempotency_key)
        if known is not None:
            return known
        self.clarifications.append(clarification)
        return self._new_receipt(clarification.idempotency_key)

    def _admit(self, key: str) -> Receipt | None:
        """Count the attempt, raise a queued failure, or return the receipt of a redelivery."""
        self.attempts[key] += 1
        if self.failures:
            raise self.failures.pop(0)
        return self._receipts.get(key)

    def _new_receipt(self, key: str) -> Receipt:
        status: ReceiptStatus = "TECH_REJECTED" if self.tech_reject else "ACKNOWLEDGED"
        receipt = Receipt(f"{self.country}-MEM-{len(self._receipts) + 1:06d}", status)
        self._receipts[key] = receipt
        return receipt
