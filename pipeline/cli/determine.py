"""``eco determine FILE --review-on YYYY-MM-DD``: a pre-exportation determination (Form E
Rule 5(a)) for the products of an application document, published to the register.

The document is an application (JSON v1) describing the products; every item that
qualifies in its own right is determined, and later applications for the same
product (exporter, agreement, HS code, bill of materials) reuse the determination
until the review date. Prints one line per determination. Exit 0 when at least one
was published, 1 when no item qualifies, 2 for bad input, 3 when the broker does
not answer.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipeline import events, feeds
from pipeline.application import load_application
from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable, InvalidInput, InvalidRules
from pipeline.events import Envelope
from pipeline.origin import RuleBook, examine
from pipeline.origin.predetermination import (
    PreExportationDetermination,
    determine_before_exportation,
)
from pipeline.settings import Settings

DETERMINED = "eco.origin.determined.v1"
_NAMESPACE = uuid.UUID("c4b7e019-2f6a-4d8e-b153-7a90e6d2f4c8")


def determination_event(det: PreExportationDetermination) -> Envelope:
    """The ``eco.origin.determined.v1`` event of a determination; the id derives from its
    reference, product and dates, so publishing the same one twice stores it once."""
    data: dict[str, Any] = {**det.to_json(), "determined_at": datetime.now(UTC)}
    data["rvc_percent"] = det.rvc_percent
    name = f"{det.reference}|{det.product_key}|{det.determined_on}|{det.review_on}"
    return events.new_envelope(DETERMINED, data, source="eco/determine", subject=det.product_key,
                               id=str(uuid.uuid5(_NAMESPACE, name)))


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "determine", help="pre-exportation origin determination of products (Rule 5(a))",
        description="Determine the origin of the products in an application document and "
        "store the determinations for reuse by later applications until the review date.")
    parser.add_argument("file", type=Path, metavar="FILE", help="the product application (JSON)")
    parser.add_argument("--review-on", required=True, metavar="YYYY-MM-DD",
                        help="the last day the determination is reused without review")
    parser.add_argument("--reference", metavar="REF",
                        help="the determination's reference (default: PED-<exporter>-<date>)")
    parser.add_argument("--rules", type=Path, action="append", default=[], metavar="CSV",
                        help="a product-specific rule table added to the built-in one")
    parser.add_argument("--date", metavar="YYYY-MM-DD",
                        help="the day of the determination (default: ECO_EXAMINATION_DATE "
                        "or today)")
    parser.set_defaults(run=run)


def _fail(message: str) -> int:
    print(f"eco determine: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    review_on = _day(args.review_on)
    if review_on is None:
        return _fail(f"--review-on {args.review_on!r} is not a date written YYYY-MM-DD")
    on_date = settings.examination_day() if args.date is None else _day(args.date)
    if on_date is None:
        return _fail(f"--date {args.date!r} is not a date written YYYY-MM-DD")
    try:
        rules = RuleBook.load(args.rules)
        app = load_application(args.file)
    except InvalidRules as exc:
        return _fail(f"bad rule table: {exc}")
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}")
    except InvalidInput as exc:
        return _fail("\n".join(f"{args.file}: {p}" for p in exc.problems))
    exam = examine(app, rules, on_date)
    reference = args.reference or f"PED-{app.exporter.id or 'X'}-{on_date:%Y%m%d}"
    try:
        found = determine_before_exportation(app, exam, reference, review_on)
    except InvalidInput as exc:
        return _fail("\n".join(f"{args.file}: {p}" for p in exc.problems))
    if not found:
        for item in exam.items:
            print(f"item {item.item_no} {item.hs_code}: {item.verdict.value}: "
                  + "; ".join(item.reasons), file=sys.stderr)
        return EXIT_NEGATIVE
    try:
        feeds.run(feeds.publish(settings.kafka_bootstrap, [determination_event(d) for d in found]))
    except DependencyUnavailable as exc:
        print(f"eco determine: {exc} (start one with `eco kafka start`)", file=sys.stderr)
        return EXIT_UNREACHABLE
    for det in found:
        print(f"{det.reference}\t{det.product_key}\t{det.box or det.criterion.value}\t"
              f"review on {det.review_on}")
    return EXIT_OK
