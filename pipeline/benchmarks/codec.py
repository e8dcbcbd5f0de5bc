"""How many ``eco.verification.completed.v1`` events of a 10-item application one process
encodes and decodes per second (Avro single-object encoding, see pipeline.events.codec)."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from typing import Any

from pipeline import events
from pipeline.application import parse_application
from pipeline.origin.bench import generated_document
from pipeline.origin.event import verification_data
from pipeline.origin.examination import examine
from pipeline.origin.rules import default_rulebook

VERIFICATION_COMPLETED = "eco.verification.completed.v1"
EXAMINED_ON = date(2026, 5, 20)


def verification_payload(items: int = 10) -> dict[str, Any]:
    """The datum the verification stage publishes for the origin benchmark's generated
    application with ``items`` items, document text included."""
    document = generated_document(items)
    exam = examine(parse_application(document, "bench"), default_rulebook(), EXAMINED_ON)
    return verification_data(
        "bench", exam.agreement.value, exam, json.dumps(document, sort_keys=True),
        completed_at=datetime(2026, 5, 20, 9, 30, tzinfo=UTC),
    )


def bench_codec(seconds: float) -> float:
    """Encode and decode a 10-item verification event repeatedly for about ``seconds``;
    returns the round trips per second."""
    payload = verification_payload(10)
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        events.decode(events.encode(VERIFICATION_COMPLETED, payload), VERIFICATION_COMPLETED)
        count += 1
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - started)
