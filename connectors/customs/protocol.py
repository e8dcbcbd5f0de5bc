"""The seam between the transmission stage and an importing customs.

A connector carries a signed certificate (and, after a Box 4 rejection, the issuing
authority's clarification, Form E Rule 8) to one country's customs and returns the
technical receipt. Decisions (preference given or not) arrive later, asynchronously,
through the response receiver.

Errors follow the one error tree: a timeout, a connection failure or a 5xx raises
``CustomsTemporaryFailure`` (retryable); a 4xx raises ``BusinessRejection`` (permanent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast, get_args

from pipeline.errors import InvalidInput, Problem

ReceiptStatus = Literal["ACKNOWLEDGED", "TECH_REJECTED"]
RECEIPT_STATUSES: tuple[str, ...] = get_args(ReceiptStatus)


@dataclass(frozen=True)
class Delivery:
    """One version of a signed certificate on its way to the customs of the importing country."""

    application_id: str
    certificate_number: str
    version: int
    importing_country: str
    document_xml: bytes

    @property
    def idempotency_key(self) -> str:
        """The same certificate version always carries the same key, so a redelivery is harmless."""
        return f"{self.certificate_number}:{self.version}"


@dataclass(frozen=True)
class Clarification:
    """The issuing authority's answer to a Box 4 "not given" marking (Form E Rule 8)."""

    application_id: str
    certificate_number: str
    version: int
    importing_country: str
    explanation: str

    @property
    def idempotency_key(self) -> str:
        """One clarification per certificate version; a resend carries the same key."""
        return f"{self.certificate_number}:{self.version}:clarification"


@dataclass(frozen=True)
class Receipt:
    """The customs' technical receipt: the message arrived (or was refused on technical grounds)."""

    receipt_id: str
    status: ReceiptStatus
    message: str = ""


class CustomsConnector(Protocol):
    """Transport to one importing customs: REST, AS4 or anything else behind the same two calls."""

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Send the signed certificate; raise CustomsTemporaryFailure or BusinessRejection."""
        ...

    async def send_clarification(self, clarification: Clarification) -> Receipt:
        """Send a clarification after a Box 4 rejection; same errors as ``deliver``."""
        ...


def receipt_from_json(body: Any) -> Receipt:
    """Read a receipt ``{"receipt_id", "status", "message"?}``; InvalidInput names each fault."""
    if not isinstance(body, Mapping):
        raise InvalidInput([Problem("", "a receipt must be a JSON object")], "customs receipt")
    problems: list[Problem] = []
    receipt_id = body.get("receipt_id")
    if not isinstance(receipt_id, str) or not receipt_id:
        problems.append(Problem("receipt_id", "required, a non-empty string"))
    status = body.get("status")
    if status not in RECEIPT_STATUSES:
        problems.append(Problem("status", f"must be one of {', '.join(RECEIPT_STATUSES)}"))
    message = body.get("message", "")
    if not isinstance(message, str):
        problems.append(Problem("message", "must be a string"))
    if problems:
        raise InvalidInput(problems, "customs receipt")
    return Receipt(str(receipt_id), cast(ReceiptStatus, status), str(message))


def receipt_to_json(receipt: Receipt) -> dict[str, str]:
    """The wire form read by ``receipt_from_json``."""
    return {"receipt_id": receipt.receipt_id, "status": receipt.status, "message": receipt.message}
