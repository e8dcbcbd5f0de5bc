"""``eco bench [--quick] [--no-pipeline] [--json] [--applications N] [--soak SECONDS]
[--soak-rate PER_S] [--profile DIR] [--worker-path DIR] [--out FILE]``: what ``make bench``
runs."""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable


def register(sub: Any) -> None:
    """Add the ``bench`` command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "bench", help="measure the pipeline against its true limits",
        description="Measure the in-process work (origin, signing, codec, whole journeys), "
        "then, on a broker, sandbox customs and workers of its own (free ports, stopped "
        "afterwards): the Kafka floor, one worker flat out, latencies at 50/s and 100/s "
        "offered, memory, restarts and two workers. Prints a table and writes the JSON "
        "document under ECO_DATA_DIR/bench/ (or --out). See docs/bench.md.")
    parser.add_argument("--quick", action="store_true",
                        help="about one second per in-process benchmark and a short load")
    parser.add_argument("--no-pipeline", dest="pipeline", action="store_false",
                        help="skip the end-to-end load (no broker, no Java needed)")
    parser.add_argument("--json", action="store_true",
                        help="print the JSON document, one object on the last line")
    parser.add_argument("--applications", type=int, metavar="N",
                        help="applications of the flat-out run (default 1000, quick 150)")
    parser.add_argument("--soak", type=float, metavar="SECONDS", default=0.0,
                        help="also offer --soak-rate for SECONDS, in 30 s windows, and report "
                        "memory growth and latency drift")
    parser.add_argument("--soak-rate", type=float, metavar="PER_S", default=100.0,
                        help="applications per second offered during the soak (default 100)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="at the end, run one worker flat out under py-spy (pip install "
                        "py-spy) and write its profile and a summary to DIR")
    parser.add_argument("--worker-path", type=Path, metavar="DIR",
                        help="run the broker's workers and sandbox from the checkout in DIR "
                        "(compare another version with the same client and machine)")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="where to write the JSON document (default "
                        "ECO_DATA_DIR/bench/bench-<time>.json)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the suite; 1 when a measurement did not complete (a note says which), 3 when the
    broker or a service could not be started."""
    from pipeline.benchmarks import SuitePlan, as_json, run_suite, table
    from pipeline.settings import Settings

    if args.applications is not None and args.applications < 1:
        print(f"eco bench: --applications {args.applications}: must be 1 or more",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.soak < 0:
        print(f"eco bench: --soak {args.soak:g}: must be 0 or more seconds", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.soak_rate <= 0:
        print(f"eco bench: --soak-rate {args.soak_rate:g}: must be more than 0",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    plan = SuitePlan.quick(args.pipeline) if args.quick else SuitePlan(pipeline=args.pipeline)
    plan = replace(plan, load=replace(
        plan.load, soak_seconds=args.soak, soak_rate=args.soak_rate, profile=args.profile,
        worker_path=args.worker_path, flat_out=args.applications or plan.load.flat_out))

    def say(text: str) -> None:
        print(f"[bench] {text}", file=sys.stderr, flush=True)

    def stopped(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds: the bench's broker and workers are stopped

    signal.signal(signal.SIGTERM, stopped)
    try:
        result = run_suite(plan, say)
    except DependencyUnavailable as exc:
        print(f"eco bench: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    document = as_json(result.figures, plan.settings(), result.notes, result.headline)
    out = args.out or (Settings.from_env().data_dir / "bench"
                       / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(document + "\n", encoding="utf-8")
        say(f"wrote {out}")
    except OSError as exc:
        print(f"eco bench: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(table(result.figures, result.notes), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        print(document)
    return EXIT_OK if result.complete else EXIT_NEGATIVE
