"""``eco declare FILE...``: publish supplier declarations (Form E Rule 5(b)) to the register.

Each file holds one declaration object or an array of them::

    {"reference": "SD-MY-2026-0031", "supplier": "Penang Photonics Sdn. Bhd.",
     "hs_code": "854141", "origin_country": "MY", "agreement": "RCEP",
     "valid_from": "2026-01-01", "valid_until": "2026-12-31",
     "processing": "wafer dicing, die bonding and packaging of the LED chips in Penang"}

``processing`` is the supplier's description of the processing that makes the material
originating; it may be left out (it is then recorded empty).

Prints one reference per declaration. Exit 0 when all were published, 2 when a file
is bad (nothing is published then), 3 when the broker does not answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import events, feeds
from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable, InvalidInput, Problem
from pipeline.events import Envelope
from pipeline.origin.declarations import SupplierDeclaration
from pipeline.origin.register import declaration_data, parse_declaration
from pipeline.settings import Settings

DECLARED = "eco.supplier.declared.v1"
_NAMESPACE = uuid.UUID("5d0e2a43-91c7-4f0b-a3e8-2c6b7f41d9a0")


def declaration_event(declaration: SupplierDeclaration, source: str = "eco/declare") -> Envelope:
    """The ``eco.supplier.declared.v1`` event of a declaration; the id derives from its
    content, so publishing the same declaration twice stores it once."""
    data: dict[str, Any] = {**declaration_data(declaration), "declared_at": datetime.now(UTC)}
    digest = json.dumps(declaration_data(declaration), sort_keys=True)
    return events.new_envelope(DECLARED, data, source=source, subject=declaration.reference,
                               id=str(uuid.uuid5(_NAMESPACE, digest)))


def read_declarations(path: Path) -> list[SupplierDeclaration]:
    """The declarations in one file; InvalidInput lists every problem by JSON path."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput([Problem("", f"cannot read: {exc.strerror or exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput([Problem("", "not UTF-8 text")]) from exc
    except json.JSONDecodeError as exc:
        raise InvalidInput([Problem("", f"malformed JSON at line {exc.lineno}, column "
                                        f"{exc.colno}: {exc.msg}")]) from exc
    entries = value if isinstance(value, list) else [value]
    found: list[SupplierDeclaration] = []
    problems: list[Problem] = []
    for index, entry in enumerate(entries):
        try:
            found.append(parse_declaration(entry, f"[{index}]" if isinstance(value, list) else ""))
        except InvalidInput as exc:
            problems += exc.problems
    if problems:
        raise InvalidInput(problems)
    return found


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "declare", help="publish supplier declarations (JSON) to the register",
        description="Validate supplier declarations and publish them; applications that cite "
        "a declaration's reference are cross-checked against it (Form E Rule 5(b)).")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    declarations: list[SupplierDeclaration] = []
    failed = False
    for path in args.files:
        try:
            declarations += read_declarations(path)
        except InvalidInput as exc:
            failed = True
            for problem in exc.problems:
                where = f"{path}: {problem.path}" if problem.path else str(path)
                print(f"eco declare: {where}: {problem.message}", file=sys.stderr)
    if failed:
        return EXIT_BAD_INPUT
    try:
        feeds.run(feeds.publish(settings.kafka_bootstrap,
                                [declaration_event(d) for d in declarations]))
    except DependencyUnavailable as exc:
        print(f"eco declare: {exc} (start one with `eco kafka start`)", file=sys.stderr)
        return EXIT_UNREACHABLE
    for declaration in declarations:
        print(f"{declaration.reference}\tvalid {declaration.valid_from} to "
              f"{declaration.valid_until}")
    return EXIT_OK
