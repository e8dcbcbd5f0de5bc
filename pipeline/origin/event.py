"""The event datum the verification stage publishes for one examination (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pipeline.origin.examination import Examination

CENT = Decimal("0.01")


def verification_data(application_id: str, agreement: str, exam: Examination,
                      document: str, completed_at: datetime | None = None) -> dict[str, Any]:
    """The ``eco.verification.completed.v1`` datum for one examination; RVC percentages
    are shown with two decimals, half up (the examination compares them unrounded)."""
    return {
        "application_id": application_id,
        "agreement": agreement,
        "verdict": str(exam.verdict.value if hasattr(exam.verdict, "value") else exam.verdict),
        "items": [
            {
                "item_no": item.item_no,
                "hs_code": item.hs_code,
                "qualified": item.qualified,
                "criterion": item.criterion_code,
                "rule": item.rule,
                "box": item.box,
                "rvc_percent": (None if item.rvc_percent is None
                                else item.rvc_percent.quantize(CENT, ROUND_HALF_UP)),
                "rvc_method": item.rvc_method,
                "de_minimis": item.de_minimis,
                "accumulation": item.accumulation,
                "reasons": list(item.reasons),
            }
            for item in exam.items
        ],
        "errors": [{"path": p.path, "message": p.message} for p in exam.errors],
        "notes": list(exam.notes),
        "issued_retroactively": exam.issued_retroactively,
        "completed_at": completed_at or datetime.now(UTC),
        "document": document,
    }
