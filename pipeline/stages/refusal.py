"""A refused issuance as an event: ``eco.certificate.refused.v1`` on ``eco.issuance``.

A qualified application may still not get a certificate: its back-to-back draw would exceed
what is left of the original (RCEP Art. 3.19.1(d)), its original is no longer a valid proof
of origin (RCEP Art. 3.19.1(a): revoked, or superseded by a corrected version), or its
applicant has used every serial of the year (``SerialsExhausted``). The refusal is a state
of the application (``ISSUANCE_REFUSED``), shown by ``eco status`` and the portal, not only
a dead letter. The event's id derives from the request it answers, so a replay refuses with
the same event and the status stage records it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from pipeline import events
from pipeline.events import Envelope
from pipeline.origin.backtoback import Overdraw
from pipeline.stages import Emit, Note
from pipeline.stages.alerts import derived_id

REFUSED = "eco.certificate.refused.v1"


class Cause(StrEnum):
    """The event's ``cause``."""

    OVERDRAW = "OVERDRAW"
    ORIGINAL_REVOKED = "ORIGINAL_REVOKED"
    ORIGINAL_SUPERSEDED = "ORIGINAL_SUPERSEDED"
    SERIALS_EXHAUSTED = "SERIALS_EXHAUSTED"
    UNKNOWN = "UNKNOWN"


def refusal(request: Envelope, cause: Cause, refusals: Sequence[str], *, source: str,
            original: str | None = None, sequence: str | None = None,
            overdraws: Sequence[Overdraw] = ()) -> tuple[Emit, Note]:
    """The refused event answering ``request`` (the qualified verification), and its log
    line. Dated by the request, so a replay gives the same event."""
    reason = "; ".join(refusals)
    data = {
        "application_id": request.subject, "cause": cause.value, "reason": reason,
        "refusals": list(refusals), "original_certificate": original,
        "sequence_key": sequence, "items": [o.to_json() for o in overdraws],
        "occurred_at": request.time,
    }
    envelope = events.new_envelope(
        REFUSED, data, source=source, subject=request.subject,
        traceparent=request.traceparent, time=request.time,
        id=derived_id(request.id, "refused", cause.value))
    return Emit(envelope), Note("issuance_refused", level="warning", fields={
        "cause": cause.value, "reason": reason, "original_certificate": original,
        "sequence_key": sequence})
