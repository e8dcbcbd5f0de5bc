"""Raising clearance-exception alerts: one event, one metric, one log line."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.frame import StageContext, derived_id
from pipeline import events
from pipeline.metrics import record_alert

RAISED = "eco.alert.raised.v1"


async def raise_alert(ctx: StageContext, application_id: str, kind: str, severity: str, *,
                      summary: str, action: str, dedup: str,
                      certificate_number: str | None = None,
                      country: str | None = None) -> str:
    """Publish ``eco.alert.raised.v1``; the id derives from ``dedup`` so a replay raises it once."""
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
        "raised_at": datetime.now(UTC),
    }
    await ctx.emit(events.new_envelope(RAISED, data, source=f"eco/{ctx.stage}",
                                       subject=application_id, id=alert_id))
    record_alert(kind, country)
    ctx.log.warning("alert_raised", kind=kind, severity=severity, alert_id=alert_id)
    return alert_id
