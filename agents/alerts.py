"""Raising clearance-exception alerts from an async handler (``agents.handlers``)."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.frame import StageContext, count
from pipeline.stages.alerts import alert


async def raise_alert(ctx: StageContext, application_id: str, kind: str, severity: str, *,
                      summary: str, action: str, dedup: str,
                      certificate_number: str | None = None,
                      country: str | None = None) -> str:
    """Publish ``eco.alert.raised.v1``; the id derives from ``dedup`` so a replay raises it once."""
    emit, note = alert(ctx.stage, application_id, kind, severity, summary=summary,
                       action=action, dedup=dedup, now=datetime.now(UTC),
                       certificate_number=certificate_number, country=country)
    await ctx.emit(emit.envelope)
    count(note.event, note.fields)
    ctx.log.warning(note.event, **{k: v for k, v in note.fields.items() if k != "country"})
    return emit.envelope.id
