"""Events for the stages' transitions, built from the samples as a producer would send them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.events import Envelope
from pipeline.submission import submission

SAMPLES = Path(__file__).resolve().parents[3] / "samples"
SUBMITTED_AT = datetime(2026, 5, 20, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 5, 20, 9, 30, 2, tzinfo=UTC)


def sample(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return document


def submitted(name: str, at: datetime = SUBMITTED_AT, **changes: Any) -> Envelope:
    """The ``eco.application.submitted.v1`` event of a sample, submitted at ``at``."""
    document = {**sample(name), **changes}
    envelope = submission(document, source=name).envelope
    return replace(envelope, time=at, data={**envelope.data, "submitted_at": at})
