"""``eco check``: origin determination and examination of one application, without Kafka.

Exit 0 when the application qualifies, 1 when it does not or is incomplete, 2
for bad input (the file, a rule table or the date), with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from pipeline.application import Application, load_application
from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK
from pipeline.errors import InvalidApplication, InvalidRules
from pipeline.origin import Examination, ItemResult, RuleBook, Verdict, examine
from pipeline.origin.figures import show


def register(subparsers: Any) -> None:
    """Add the ``check`` command."""
    parser = subparsers.add_parser(
        "check",
        help="determine origin and examine an application, without Kafka",
        description=(
            "Origin determination and examination of one application: per item the criterion "
            "met, the RVC where computed, the verdict and the reasons. Exit 0 qualified, "
            "1 not qualified or incomplete, 2 bad input."
        ),
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the application (JSON or XML)")
    parser.add_argument(
        "--rules",
        type=Path,
        action="append",
        default=[],
        metavar="CSV",
        help="a product-specific rule table (agreement,hs,rule[,source]); later ones take "
        "precedence over earlier ones and over the built-in table",
    )
    parser.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="the day the certificate would be issued (default: today)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run)


def _fail(message: str) -> int:
    print(f"eco check: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def run(args: argparse.Namespace) -> int:
    """Examine ``args.file`` and print the result; the exit code carries the verdict."""
    on_date = date.today()
    if args.date is not None:
        try:
            on_date = date.fromisoformat(args.date)
        except ValueError:
            return _fail(f"--date {args.date!r} is not a date written YYYY-MM-DD")
    try:
        rules = RuleBook.load(args.rules)
    except InvalidRules as exc:
        return _fail(f"bad rule table: {exc}")
    try:
        app = load_application(args.file)
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}")
    except InvalidApplication as exc:
        lines = [f"{args.file} is not a valid application:"]
        lines += [f"  {args.file}: {p}" for p in exc.problems]
        return _fail("\n".join(lines))
    result = examine(app, rules, on_date)
    if args.json:
        json.dump(result.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        write_report(app, result, sys.stdout)
    return EXIT_OK if result.verdict is Verdict.QUALIFIED else EXIT_NEGATIVE


def write_report(app: Application, result: Examination, out: TextIO) -> None:
    """The human-readable report: a table per item with the arithmetic shown."""
    route = f"{app.exporter.country} -> {app.importer.country}"
    out.write(
        f"{app.source or 'application'}  {app.application_id or '(no application id)'}  "
        f"{app.agreement}  {route}  issue date {result.on_date}\n"
    )
    out.write(f"verdict: {result.verdict}\n")
    for index, item_result in enumerate(result.items):
        _write_item(app, index, item_result, out)
    _write_section("errors", [str(p) for p in result.errors], out)
    _write_section("refused", list(result.refusals), out)
    _write_section("notes", list(result.notes), out)
    _write_section("missing supplier declarations", list(result.missing_supplier_declarations), out)


def _write_item(app: Application, index: int, result: ItemResult, out: TextIO) -> None:
    item = app.items[index]
    out.write(f"\nitem {result.item_no}  HS {result.hs_code}  {item.description or ''}\n")
    rows = [
        ("rule", f"{result.rule or '(none)'}  [{result.rule_source or 'no rule'}]"),
        ("verdict", result.verdict.value),
    ]
    if result.qualified:
        rows.append(("criterion", f"{result.criterion_code}  box: {result.box}"))
        flags = [
            f"de minimis: {_yes(result.de_minimis)}",
            f"accumulation: {_yes(result.accumulation)}",
        ]
        rows.append(("flags", ", ".join(flags)))
    if result.cumulation.needed:
        met = {True: "met", False: "not met", None: "cannot be computed"}[result.cumulation.met]
        content = result.cumulation.content_percent
        figure = f", ACFTA content {show(content)} %" if content is not None else ""
        rows.append(("cumulation", f"ACFTA Rule 5 condition (40 %) {met}{figure}"))
    if item.fob is not None:
        shown = "shown on the certificate" if result.fob_shown else "not shown on the certificate"
        rows.append(("FOB", f"{item.fob.currency} {show(item.fob.amount)} ({shown})"))
    if result.rvc_percent is not None:
        rows.append(("RVC", f"{show(result.rvc_percent)} % ({result.rvc_method})"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        out.write(f"  {label.ljust(width)}  {value}\n")
    if result.workings:
        out.write("  workings:\n")
        out.writelines(f"    {line}\n" for line in result.workings)
    if result.reasons:
        out.write("  reasons:\n")
        out.writelines(f"    - {reason}\n" for reason in result.reasons)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _write_section(title: str, lines: list[str], out: TextIO) -> None:
    if lines:
        out.write(f"\n{title}:\n")
        out.writelines(f"  {line}\n" for line in lines)
