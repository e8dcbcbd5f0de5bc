"""``eco demo [--out DIR]``: what ``make demo`` runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.cli import EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo", help="run the whole pipeline on the sample applications",
        description="Start Kafka, the sandbox customs and a worker, submit the samples and "
        "show each journey.")
    parser.add_argument("--out", type=Path, default=Path(".eco/demo"), metavar="DIR")
    parser.add_argument("--timeout", type=float, default=240.0,
                        help="seconds to wait for the journeys (default 240)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.demo import run_demo

    try:
        return run_demo(args.out, timeout=args.timeout)
    except DependencyUnavailable as exc:
        print(f"eco demo: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
