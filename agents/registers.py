"""Registers stage: the supplier declarations (Form E Rule 5(b)) and pre-exportation
determinations (Rule 5(a)) that later applications rely on, kept in Faust global tables.

Declarations are keyed by their reference and determinations by product, while
applications are keyed by application id: a table partitioned like the
declarations would sit on another worker than the application citing them. A
global table is read in full by every worker, so the verification stage finds any
declaration or determination whatever partition it arrived on. This stage is the
only writer; it validates each event and keeps the latest per key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust

from agents.frame import StageContext, install_stage
from pipeline.errors import InvalidInput, Problem
from pipeline.events import Envelope
from pipeline.origin.predetermination import PreExportationDetermination
from pipeline.origin.register import declaration_data, parse_declaration
from pipeline.settings import Settings

DECLARED = "eco.supplier.declared.v1"
DETERMINED = "eco.origin.determined.v1"
DECLARATIONS_TOPIC = "eco.supplier-declaration"
DETERMINATIONS_TOPIC = "eco.origin-determination"
DECLARATIONS_TABLE = "supplier-declarations"
DETERMINATIONS_TABLE = "origin-determinations"


def global_table(app: faust.App, settings: Settings, name: str,
                 default: Callable[[], Any] = dict) -> Any:
    """The global table ``name`` of plain JSON values, created on first use.

    Faust applies a global table's changelog events one by one once running; recovery
    does so too (buffer size 1, as Faust advises for global tables on several workers).
    """
    if name in app.tables:
        return app.tables[name]
    return app.GlobalTable(name, default=default, partitions=settings.kafka_partitions,
                           recovery_buffer_size=1)


def install(app: faust.App, settings: Settings) -> None:
    declarations = global_table(app, settings, DECLARATIONS_TABLE)
    determinations = global_table(app, settings, DETERMINATIONS_TABLE)

    async def keep(envelope: Envelope, ctx: StageContext) -> None:
        if envelope.type == DECLARED:
            declaration = parse_declaration(envelope.data)
            if declaration.reference != envelope.subject:
                raise InvalidInput([Problem("reference", "differs from the event's subject")])
            declarations[declaration.reference] = declaration_data(declaration)
            ctx.log.info("supplier_declaration_stored", reference=declaration.reference,
                         valid_until=declaration.valid_until.isoformat())
        elif envelope.type == DETERMINED:
            try:
                determination = PreExportationDetermination.from_json(envelope.data)
            except (KeyError, ValueError) as exc:
                raise InvalidInput([Problem("", f"not a determination: {exc}")]) from exc
            key = determination.product_key
            if key != envelope.subject:
                raise InvalidInput([Problem("product_key", "differs from the event's subject")])
            held = determinations.get(key)
            if held and str(held["determined_on"]) > determination.determined_on.isoformat():
                ctx.log.info("origin_determination_outdated", product_key=key)
                return
            determinations[key] = determination.to_json()
            ctx.log.info("origin_determination_stored", product_key=key,
                         reference=determination.reference,
                         review_on=determination.review_on.isoformat())

    install_stage(app, settings, "registers", [DECLARATIONS_TOPIC, DETERMINATIONS_TOPIC], keep)
