"""``eco demo [--out DIR]``: what ``make demo`` runs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from pipeline.cli import EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo", help="run the whole pipeline on the sample applications",
        description="Start Kafka, the sandbox customs, a worker, the demo OpenID provider and "
        "the portal, submit the samples, show each journey, and leave the stack running "
        "(stop it with --stop).")
    parser.add_argument("--out", type=Path, default=Path(".eco/demo"), metavar="DIR")
    parser.add_argument("--stop", action="store_true",
                        help="stop the stack an earlier demo left running, and the broker")
    parser.add_argument("--timeout", type=float, default=240.0,
                        help="seconds to wait for the journeys (default 240)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.demo import run_demo

    if args.stop:
        from pipeline.demo import DEMO_ENV
        from pipeline.demostack import stop_stack
        from pipeline.settings import Settings

        env = {**os.environ, **DEMO_ENV}
        stopped = stop_stack(Settings.from_env(env), env)
        print(f"eco demo: stopped {', '.join(stopped) or 'nothing (none was running)'}")
        return 0
    try:
        return run_demo(args.out, timeout=args.timeout)
    except DependencyUnavailable as exc:
        print(f"eco demo: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
