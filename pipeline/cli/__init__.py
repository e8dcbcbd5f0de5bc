"""The ``eco`` command line: one module per command, each with ``register`` and ``run``.

Exit codes: 0 success, 1 a negative answer, 2 bad input or usage, 3 an unreachable dependency.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_BAD_INPUT = 2
EXIT_UNREACHABLE = 3

# Each module has register(subparsers) that adds its parser with set_defaults(run=...),
# where run(args) -> int is the exit code.
COMMANDS = (
    "kafka", "worker", "submit", "status", "alerts", "check", "verify", "sandbox", "demo", "bench",
    "render", "declare", "determine", "documents",
    "certificate", "clarify", "trust",
    "rules",
    "receiver", "deadletter",
    "portal", "intake",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eco", description="e-CO pipeline: certificates of origin on Apache Kafka"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"pipeline.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"pipeline.cli.{name}":
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # aiokafka logs its own retries (a new topic's leader moving, say) at warning level.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        code = 130
    return code


def entry() -> None:
    sys.exit(main())
