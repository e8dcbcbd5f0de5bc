"""Exceptions stage: clearance-exception alerts and their deadlines, decided by
``pipeline.stages.exceptions``. The deadlines live in Kafka-backed tables; a timer finds the
ones due on this worker's partitions and sends an ``eco.deadline.due.v1`` event through Kafka
to this same stage, which raises the alert once and marks the deadline done."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import faust

from agents.frame import Batch, Stage, json_table, publish, run_stage
from connectors.customs.box4 import box4_code_list
from pipeline import events
from pipeline.events import Envelope
from pipeline.metrics import AWAITING_RESPONSES
from pipeline.settings import Settings
from pipeline.stages import Transition
from pipeline.stages import exceptions as transition
from pipeline.stages.dueindex import DueIndex
from pipeline.stages.exceptions import Watch

DEADLINE_TOPIC = "eco.deadlines"
AWAITING, VERIFYING = "exceptions-awaiting", "exceptions-verification"
REINDEX_EVERY = 20  # timer ticks
TOPICS = ["eco.issuance", "eco.transmission", "eco.customs-response", DEADLINE_TOPIC]


def install(app: faust.App, settings: Settings) -> None:
    tables = {AWAITING: json_table(app, settings, AWAITING, dict),
              VERIFYING: json_table(app, settings, VERIFYING, dict)}
    deadlines = transition.Deadlines(settings.deadline_for, settings.verification_deadline_for,
                                     settings.verification_warning)
    codes = box4_code_list()
    sent: dict[str, float] = {}  # due event id -> when this worker last sent it
    index = DueIndex()  # this worker's pending deadlines by due time
    indexed: set[Any] = set()  # the partitions the index was built for
    ticks = [0]

    def load(envelope: Envelope, batch: Batch) -> Watch:
        return Watch(batch.get(AWAITING, envelope.subject),
                     batch.get(VERIFYING, envelope.subject))

    def decide(watch: Watch, envelope: Envelope, now: datetime) -> Transition[Watch]:
        return transition.decide(watch, envelope, now, deadlines, codes)

    def save(envelope: Envelope, watch: Watch, batch: Batch) -> None:
        for table, value in ((AWAITING, watch.response), (VERIFYING, watch.verification)):
            if value != batch.get(table, envelope.subject):
                batch.put(table, envelope.subject, value)
        index.set(envelope.subject, transition.next_due(watch, settings.verification_warning))

    async def reindex() -> None:
        """After a rebalance, index the deadlines of this worker's partitions once, a few
        hundred entries at a time so the event loop stays free."""
        index.clear()
        for number, app_id in enumerate(set(tables[AWAITING]) | set(tables[VERIFYING])):
            watch = Watch(tables[AWAITING].get(app_id) or None,
                          tables[VERIFYING].get(app_id) or None)
            index.set(app_id, transition.next_due(watch, settings.verification_warning))
            if number % 256 == 255:
                await asyncio.sleep(0)

    @app.timer(settings.deadline_check_every, name="eco.exceptions.deadlines")  # type: ignore[untyped-decorator]
    async def check_deadlines() -> None:
        """Send the deadlines due on this worker's partitions through Kafka (found in the
        index by due time); one not yet processed is sent again after a few intervals, not on
        every tick."""
        assigned = set(app.assignor.assigned_actives())
        ticks[0] += 1
        # Again now and then: a rebalance may end while a table is still being recovered.
        if assigned != indexed or ticks[0] % REINDEX_EVERY == 0:
            await reindex()
            indexed.clear()
            indexed.update(assigned)
        now = time.time()
        due: list[Envelope] = []
        for app_id in index.due(now):
            watch = Watch(tables[AWAITING].get(app_id) or None,
                          tables[VERIFYING].get(app_id) or None)
            warning = settings.verification_warning
            for envelope in transition.due_events(app_id, watch, now, warning):
                if sent.get(envelope.id, 0.0) + 5 * settings.deadline_check_every <= now:
                    sent[envelope.id] = now
                    due.append(envelope)
        for stale in [i for i, at in sent.items() if at < now - 10 * settings.deadline_check_every]:
            del sent[stale]
        await publish(app, [(DEADLINE_TOPIC, *events.to_record(e)) for e in due])
        AWAITING_RESPONSES.set(len(index))

    run_stage(app, settings, Stage("exceptions", TOPICS, tables, load, decide, save,
                                       on_failure=transition.on_failure))
