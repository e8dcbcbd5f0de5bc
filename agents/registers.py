"""Registers stage: the supplier declarations (Form E Rule 5(b)) and pre-exportation
determinations (Rule 5(a)) that later applications rely on, kept in Faust global tables.

Declarations are keyed by their reference and determinations by product, while
applications are keyed by application id: a table partitioned like the declarations would
sit on another worker than the application citing them. A global table is read in full by
every worker, so the verification stage finds any declaration or determination whatever
partition it arrived on. This stage is the only writer (``pipeline.stages.registers``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import faust

from agents.frame import Batch, Stage, run_stage
from pipeline.app import IN_MEMORY
from pipeline.events import Envelope
from pipeline.settings import Settings
from pipeline.stages import Transition
from pipeline.stages import registers as transition

DECLARED = transition.DECLARED
DETERMINED = transition.DETERMINED
DECLARATIONS_TOPIC = "eco.supplier-declaration"
DETERMINATIONS_TOPIC = "eco.origin-determination"
DECLARATIONS_TABLE = "supplier-declarations"
DETERMINATIONS_TABLE = "origin-determinations"
_TABLE_OF = {DECLARED: DECLARATIONS_TABLE, DETERMINED: DETERMINATIONS_TABLE}


def global_table(app: faust.App, settings: Settings, name: str,
                 default: Callable[[], Any] = dict) -> Any:
    """The global table ``name`` of plain JSON values, created on first use.

    Faust applies a global table's changelog events one by one once running; recovery
    does so too (buffer size 1, as Faust advises for global tables on several workers).
    """
    if name in app.tables:
        return app.tables[name]
    # Small, read whole by every worker: kept in memory.
    return app.GlobalTable(name, default=default, partitions=settings.kafka_partitions,
                           recovery_buffer_size=1, store=IN_MEMORY)


def install(app: faust.App, settings: Settings) -> None:
    tables = {name: global_table(app, settings, name) for name in _TABLE_OF.values()}

    def load(envelope: Envelope, batch: Batch) -> Any:
        table = _TABLE_OF.get(envelope.type)
        return batch.get(table, envelope.subject) if table else None

    def decide(held: Any, envelope: Envelope, now: datetime) -> Transition[Any]:
        return transition.decide(held, envelope)

    def save(envelope: Envelope, entry: Any, batch: Batch) -> None:
        table = _TABLE_OF.get(envelope.type)
        if table and entry and entry != batch.get(table, envelope.subject):
            batch.put(table, envelope.subject, entry)

    run_stage(app, settings, Stage("registers", [DECLARATIONS_TOPIC, DETERMINATIONS_TOPIC],
                                       tables, load, decide, save))
