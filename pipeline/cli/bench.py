"""``eco bench [--quick] [--no-pipeline] [--json] [--applications N]``: what ``make bench`` runs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable


def register(sub: Any) -> None:
    """Add the ``bench`` command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "bench", help="measure origin, signing, codec and end-to-end throughput",
        description="Run each benchmark for a few seconds and print the figures and their "
        "ratios. The end-to-end run starts its own broker, sandbox customs and worker on free "
        "ports and stops them afterwards. See docs/bench.md.")
    parser.add_argument("--quick", action="store_true",
                        help="about one second per benchmark and 40 applications end to end")
    parser.add_argument("--no-pipeline", dest="pipeline", action="store_false",
                        help="skip the end-to-end run (no broker, no Java needed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--applications", type=int, metavar="N",
                        help="applications in the end-to-end run (default 200, quick 40)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the suite; 1 when some application did not reach ACCEPTED, 3 when the broker or a
    service could not be started."""
    from pipeline.benchmarks import SuitePlan, as_json, run_suite, table

    if args.applications is not None and args.applications < 1:
        print(f"eco bench: --applications {args.applications}: must be 1 or more",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    plan = (SuitePlan.quick(args.pipeline, args.applications) if args.quick
            else SuitePlan(pipeline=args.pipeline,
                           applications=args.applications or SuitePlan.applications))

    def say(text: str) -> None:
        print(f"[bench] {text}", file=sys.stderr, flush=True)

    try:
        result = run_suite(plan, say)
    except DependencyUnavailable as exc:
        print(f"eco bench: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    if args.json:
        settings = {"seconds": plan.seconds, "pipeline": plan.pipeline,
                    "applications": plan.applications if plan.pipeline else None}
        print(as_json(result.figures, settings, result.notes))
    else:
        print(table(result.figures, result.notes))
    return EXIT_OK if result.complete else EXIT_NEGATIVE
