"""The status stage's decision: apply one event to an application's state machine
(``pipeline.states``) and say whether the record changed."""

from __future__ import annotations

from pipeline.events import Envelope
from pipeline.journey import observe
from pipeline.stages import Note, Transition
from pipeline.states import CertificateStatus, advance


def decide(current: CertificateStatus | None, event: Envelope
           ) -> Transition[CertificateStatus | None]:
    """The application's status after ``event``; the same state object when nothing changed
    (an event already in the history, a replay). Raises IllegalTransition (permanent)."""
    observation = observe(event.id, event.type, event.time, event.data)
    status = advance(current, event.subject, observation)
    if current is not None and status == current:
        return Transition(current)
    return Transition(status, notes=(Note("status_changed", fields={
        "state": status.state.value,
        "previous": current.state.value if current else None}),))
