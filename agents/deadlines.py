"""The exceptions stage's deadline timer: finds the deadlines due on this worker's partitions
in an index by due time (``pipeline.stages.dueindex``) and sends each as an
``eco.deadline.due.v1`` event through Kafka to the stage. The index is kept up to date by
the stage's writes and built again, a few hundred entries at a time so the event loop stays
free, once the tables of newly assigned partitions are recovered."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import faust

from agents.frame import faust_client, publish
from pipeline import events
from pipeline.events import Envelope
from pipeline.metrics import AWAITING_RESPONSES, record_verification_replies
from pipeline.settings import Settings
from pipeline.stages import exceptions as transition
from pipeline.stages.dueindex import DueIndex
from pipeline.stages.exceptions import Watch

DEADLINE_TOPIC = "eco.deadlines"


class DeadlineTimer:
    """The due index of one worker and the tick that sends what is due."""

    def __init__(self, app: faust.App, settings: Settings, response: Any, verification: Any
                 ) -> None:
        self.app, self.settings = app, settings
        self.response, self.verification = response, verification
        self.index = DueIndex()
        self.indexed: set[Any] = set()  # the partitions the index was built for
        self.sent: dict[str, float] = {}  # due event id -> when this worker last sent it

    def watch(self, app_id: str) -> Watch:
        return Watch(self.response.get(app_id) or None, self.verification.get(app_id) or None)

    def noted(self, app_id: str, watch: Watch) -> None:
        """The stage wrote ``watch``: index its next deadline."""
        self.index.set(app_id, transition.next_due(watch, self.settings.verification_warning))

    async def reindex(self) -> None:
        self.index.clear()
        for number, app_id in enumerate(set(self.response) | set(self.verification)):
            self.noted(app_id, self.watch(app_id))
            if number % 256 == 255:
                await asyncio.sleep(0)

    async def tick(self) -> None:
        """Send the due deadlines; one not yet processed is sent again after a few intervals,
        not on every tick."""
        assigned = set(self.app.assignor.assigned_actives())
        settled = not (self.app.rebalancing or self.app.in_recovery)
        if assigned != self.indexed and settled:
            await self.reindex()
            self.indexed = assigned
        now, every = time.time(), self.settings.deadline_check_every
        due: list[Envelope] = []
        for app_id in self.index.due(now):
            for envelope in transition.due_events(app_id, self.watch(app_id), now,
                                                  self.settings.verification_warning):
                if self.sent.get(envelope.id, 0.0) + 5 * every <= now:
                    self.sent[envelope.id] = now
                    due.append(envelope)
        for stale in [i for i, at in self.sent.items() if at < now - 10 * every]:
            del self.sent[stale]
        if due:
            await publish(faust_client(self.app),
                          [(DEADLINE_TOPIC, *events.to_record(e)) for e in due])
        AWAITING_RESPONSES.set(len(self.index))
        # Few entries: only certificates whose customs asked for a verification.
        record_verification_replies([v for v in self.verification.values() if v], now,
                                    self.settings.verification_warning)  # metrics
