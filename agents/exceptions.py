"""Exceptions stage: clearance-exception alerts and their deadlines, decided by
``pipeline.stages.exceptions``. The deadlines live in Kafka-backed tables; a timer
(``agents.deadlines``) finds the ones due on this worker's partitions and sends an
``eco.deadline.due.v1`` event through Kafka to this same stage, which raises the alert once
and marks the deadline done."""

from __future__ import annotations

from datetime import datetime

import faust

from agents.deadlines import DEADLINE_TOPIC, DeadlineTimer
from agents.frame import Batch, Stage, json_table, run_stage
from connectors.customs.box4 import box4_code_list
from pipeline.events import Envelope
from pipeline.metrics import record_customs_response
from pipeline.settings import Settings
from pipeline.stages import Transition
from pipeline.stages import exceptions as transition
from pipeline.stages.exceptions import Watch

AWAITING, VERIFYING = "exceptions-awaiting", "exceptions-verification"
RESPONDED = "eco.customs.responded.v1"
TOPICS = ["eco.issuance", "eco.transmission", "eco.customs-response", DEADLINE_TOPIC]


def install(app: faust.App, settings: Settings) -> None:
    tables = {AWAITING: json_table(app, settings, AWAITING, dict),
              VERIFYING: json_table(app, settings, VERIFYING, dict)}
    deadlines = transition.Deadlines(settings.deadline_for, settings.verification_deadline_for,
                                     settings.verification_warning)
    codes = box4_code_list()
    timer = DeadlineTimer(app, settings, tables[AWAITING], tables[VERIFYING])

    def load(envelope: Envelope, batch: Batch) -> Watch:
        return Watch(batch.get(AWAITING, envelope.subject),
                     batch.get(VERIFYING, envelope.subject))

    def decide(watch: Watch, envelope: Envelope, now: datetime) -> Transition[Watch]:
        decided = transition.decide(watch, envelope, now, deadlines, codes)
        if envelope.type == RESPONDED:  # metrics: responses and Box 4 reasons per country
            country = str(envelope.data["importing_country"])
            record_customs_response(country, str(envelope.data["status"]), [
                codes.classify(country, r["code"]).code
                for r in envelope.data.get("box4_reasons") or []])
        return decided

    def save(envelope: Envelope, watch: Watch, batch: Batch) -> None:
        values = ((AWAITING, watch.response), (VERIFYING, watch.verification))
        changed = [(t, v) for t, v in values if v != batch.get(t, envelope.subject)]
        if not changed:
            # An event that changes nothing, as a redelivered one: the local store may hold
            # what the changelog never received (a worker killed between the two), so the
            # watch is written again, or a successor taking the partition would lack it.
            changed = [(t, v) for t, v in values if v is not None]
        for table, value in changed:
            batch.put(table, envelope.subject, value)
        timer.noted(envelope.subject, watch)

    app.timer(settings.deadline_check_every, name="eco.exceptions.deadlines")(timer.tick)
    run_stage(app, settings, Stage("exceptions", TOPICS, tables, load, decide, save,
                                   on_failure=transition.on_failure))
