"""The trust stage's decision: apply one notified change to the issuing authorities (Form E
Rule 3) to the country's list of notifications, after checking it against the registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipeline.certificate.notification import TRUST_TOPIC, TRUST_UPDATED, TrustNotification
from pipeline.certificate.trust import TrustRegistry
from pipeline.errors import InvalidInput, Problem
from pipeline.events import Envelope
from pipeline.stages import Note, Transition, unchanged

Notifications = Sequence[Mapping[str, Any]]


def decide(held: Notifications, event: Envelope, registry: TrustRegistry
           ) -> Transition[Notifications]:
    """The country's notifications after ``event``; InvalidInput (dead-lettered with the
    reason) for a notification that is malformed or does not apply to ``registry``."""
    if event.type != TRUST_UPDATED:
        raise InvalidInput([Problem("type", f"{TRUST_TOPIC} carries {TRUST_UPDATED} only, "
                                            f"not {event.type}")])
    notification = TrustNotification.from_event(event.id, event.data)
    if notification.country != event.subject:
        raise InvalidInput([Problem("country", f"{notification.country!r} differs from the "
                                               f"event's subject {event.subject!r}")])
    if any(value.get("id") == notification.id for value in held):
        return unchanged(held, Note("trust_notification_already_applied"))
    try:
        registry.apply_update(notification.update)
    except ValueError as exc:
        raise InvalidInput([Problem("", str(exc))],
                           source=f"trust notification {event.id}") from exc
    return Transition([*held, notification.to_json()], notes=(Note("trust_updated", fields={
        "action": notification.action, "country": notification.country,
        "fingerprint": notification.fingerprint,
        "effective_at": notification.update.effective_at.isoformat(),
        "reference": notification.reference}),))
