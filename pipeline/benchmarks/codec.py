"""How many ``eco.verification.completed.v1`` events of a 10-item application one process
encodes and decodes per second (Avro single-object encoding, see pipeline.events.codec)."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pipeline import events
from pipeline.application import parse_application
from pipeline.origin.bench import generated_document
from pipeline.origin.examination import examine
from pipeline.origin.rules import default_rulebook

VERIFICATION_COMPLETED = "eco.verification.completed.v1"
CENT = Decimal("0.01")
EXAMINED_ON = date(2026, 5, 20)


def verification_payload(items: int = 10) -> dict[str, Any]:
    """The datum the verification stage publishes for the origin benchmark's generated
    application with ``items`` items, document text included."""
    document = generated_document(items)
    exam = examine(parse_application(document, "bench"), default_rulebook(), EXAMINED_ON)
    return {
        "application_id": "bench",
        "agreement": exam.agreement.value,
        "verdict": exam.verdict.value,
        "items": [
            {
                "item_no": item.item_no,
                "hs_code": item.hs_code,
                "qualified": item.qualified,
                "criterion": None if item.criterion is None else str(item.criterion),
                "rule": item.rule,
                "box": item.box,
                "rvc_percent": (None if item.rvc_percent is None
                                else item.rvc_percent.quantize(CENT, ROUND_HALF_UP)),
                "rvc_method": None if item.rvc_method is None else str(item.rvc_method),
                "de_minimis": item.de_minimis,
                "accumulation": item.accumulation,
                "reasons": list(item.reasons),
            }
            for item in exam.items
        ],
        "errors": [{"path": p.path, "message": p.message} for p in exam.errors],
        "notes": list(exam.notes),
        "issued_retroactively": exam.issued_retroactively,
        "completed_at": datetime(2026, 5, 20, 9, 30, tzinfo=UTC),
        "document": json.dumps(document, sort_keys=True),
    }


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
