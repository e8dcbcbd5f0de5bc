"""Clearance-exception alerts as outputs of a transition (``eco.alert.raised.v1``)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from pipeline import events
from pipeline.stages import Emit, Note

RAISED = "eco.alert.raised.v1"
OUTPUT_NAMESPACE = uuid.UUID("6f1c2d3e-7a8b-4c5d-9e0f-1a2b3c4d5e6f")


def derived_id(*parts: str) -> str:
    """A deterministic event id for an output, so that a replayed input yields the same id."""
    return str(uuid.uuid5(OUTPUT_NAMESPACE, json.dumps(parts)))


def alert(stage: str, application_id: str, kind: str, severity: str, *, summary: str,
          action: str, dedup: str, now: datetime, certificate_number: str | None = None,
          country: str | None = None) -> tuple[Emit, Note]:
    """The alert event and its log line; the id derives from ``dedup``, so a replay raises the
    same alert (and readers count it once)."""
    alert_id = derived_id(application_id, kind, dedup)
    data = {
        "alert_id": alert_id,
        "application_id": application_id,
        "certificate_number": certificate_number,
        "importing_country": country,
        "kind": kind,
        "severity": severity,
        "summary": summary,
        "suggested_action": action,
        "raised_at": now,
    }
    envelope = events.new_envelope(RAISED, data, source=f"eco/{stage}", subject=application_id,
                                   id=alert_id, time=now)
    return Emit(envelope), Note("alert_raised", "warning",
                                {"kind": kind, "severity": severity, "alert_id": alert_id,
                                 "country": country})
