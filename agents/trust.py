"""Trust stage: notified changes to the issuing authorities (Form E Rule 3), read from
``eco.trust`` and kept, per country and in order, in a Faust global table.

Every worker that declares the table reads all of it (:func:`trust_view`), so the issuance
stage and the worker's ``/trust`` see each change without a restart, whichever worker runs
this stage. The stage checks each notification (a PEM CA certificate whose subject is in the
event's country, an instant with its time zone) and that it applies to the registry as it
stands (a withdrawal needs a registered certificate); anything else is dead-lettered with
the reason. Notifications are never compacted away: the registry's history is their replay.
"""

from __future__ import annotations

import weakref
from datetime import UTC, datetime
from typing import Any

import faust
import structlog

from agents.frame import Stage, keyed, run_stage
from agents.registers import global_table
from pipeline.certificate.notices import notice_keys
from pipeline.certificate.notification import TRUST_TOPIC, TRUST_UPDATED, Replayed
from pipeline.certificate.trustview import TrustView, in_force_by_country
from pipeline.events import Envelope
from pipeline.issuing import trust_directory
from pipeline.metrics import TRUST_AUTHORITIES
from pipeline.settings import Settings
from pipeline.stages import Transition
from pipeline.stages import trust as transition

TRUST_TABLE = "trust-notifications"
GAUGE_EVERY = 30.0  # seconds; a change dated in the future comes into force between events

TRUST_FILES_EVERY = 1.0
"""Seconds between two looks at the trust directory's files (notifications: every time)."""
_views: weakref.WeakKeyDictionary[faust.App, TrustView] = weakref.WeakKeyDictionary()
log = structlog.get_logger("eco.trust")


def trust_view(app: faust.App, settings: Settings) -> TrustView:
    """The worker's trust registry (files plus notifications), one per app; declares the
    global table, so any module that needs the registry calls this at install time."""
    view = _views.get(app)
    if view is None:
        table = global_table(app, settings, TRUST_TABLE, default=list)
        view = TrustView(trust_directory(settings), table, on_change=_changed,
                         files_every=TRUST_FILES_EVERY)
        _views[app] = view
    return view


def _changed(replayed: Replayed) -> None:
    update_gauge(replayed)
    for event_id, reason in replayed.skipped:
        log.warning("trust_notification_skipped", ce_id=event_id, reason=reason)


def update_gauge(replayed: Replayed) -> None:
    """``eco_trust_authorities{country}``: authorities in force now."""
    for country, count in in_force_by_country(replayed.registry, datetime.now(UTC)).items():
        TRUST_AUTHORITIES.labels(country).set(count)


def install(app: faust.App, settings: Settings) -> None:
    view = trust_view(app, settings)
    tables = {TRUST_TABLE: global_table(app, settings, TRUST_TABLE, default=list)}
    load, save = keyed(TRUST_TABLE, default=[])

    keys = notice_keys(settings)

    def decide(held: Any, envelope: Envelope, now: datetime) -> Transition[Any]:
        if envelope.type == TRUST_UPDATED:
            # Signed by an accepted trust key, or dead-lettered (pipeline/certificate/notices.py).
            keys.verify(envelope.id, envelope.type, envelope.subject, envelope.data)
        # The registry as the table holds it: one notification per batch (see Stage).
        return transition.decide(list(held), envelope, view.current())

    async def refresh_gauge() -> None:
        update_gauge(Replayed(view.current()))

    run_stage(app, settings, Stage("trust", [TRUST_TOPIC], tables, load, decide, save,
                                       batch_max=1))
    app.timer(GAUGE_EVERY)(refresh_gauge)
