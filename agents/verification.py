"""Verification stage: the issuing authority's examination of each application (Form E
Rule 7; RCEP Article 3.17), decided by ``pipeline.stages.verification`` with the registers of
supplier declarations and determinations (``agents.registers``). An application waiting for
documents stays in the table ``verification-waiting`` until they arrive or it is examined."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import faust

from agents.frame import Stage, json_table, keyed, run_stage
from agents.registers import DECLARATIONS_TABLE, DETERMINATIONS_TABLE, global_table
from pipeline.events import Envelope
from pipeline.origin import RuleBook, default_rulebook
from pipeline.origin.evidence import EvidenceRule, default_evidence
from pipeline.settings import Settings
from pipeline.stages import Transition
from pipeline.stages import verification as transition

WAITING = "verification-waiting"


def install(app: faust.App, settings: Settings, rules: RuleBook | None = None,
            evidence: tuple[EvidenceRule, ...] | None = None) -> None:
    examiner = transition.Examiner(
        rules or default_rulebook(), default_evidence() if evidence is None else evidence,
        settings.examination_date)
    registers = transition.Registers(global_table(app, settings, DECLARATIONS_TABLE),
                                     global_table(app, settings, DETERMINATIONS_TABLE))
    tables = {WAITING: json_table(app, settings, WAITING, dict)}
    load, save = keyed(WAITING)

    def decide(waiting: Any, envelope: Envelope, now: datetime) -> Transition[Any]:
        return transition.decide(waiting, envelope, now, examiner, registers)

    run_stage(app, settings, Stage("verification", ["eco.application"], tables, load,
                                       decide, save))
