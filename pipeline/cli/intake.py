"""``eco intake [DIR] [--once] [--every SECONDS]``: the file-drop intake of XML applications
(``connectors.intake.filedrop``); DIR defaults to ECO_INTAKE_DIR."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline import feeds
from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK
from pipeline.settings import Settings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "intake", help="submit XML applications dropped into a directory",
        description="Submit each *.xml file of DIR, then move it to DIR/done, or to "
        "DIR/failed with FILE.reason.txt beside it.")
    parser.add_argument("directory", nargs="?", type=Path, metavar="DIR")
    parser.add_argument("--once", action="store_true", help="one scan, then exit")
    parser.add_argument("--every", type=float, default=2.0, metavar="SECONDS",
                        help="time between scans (default 2)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from connectors.intake.filedrop import scan, watch

    settings = Settings.from_env()
    directory = args.directory or settings.intake_dir
    if directory is None or not directory.is_dir():
        print(f"eco intake: {directory or 'ECO_INTAKE_DIR'}: not a directory", file=sys.stderr)
        return EXIT_BAD_INPUT

    async def publish(envelopes: Any) -> None:
        await feeds.publish(settings.kafka_bootstrap, list(envelopes))

    if args.once:
        for outcome in feeds.run(scan(directory, publish)):
            where = "done" if outcome.reason is None else "failed"
            print(f"{outcome.file}\t{where}\t{outcome.application_id or ''}")
        return EXIT_OK
    feeds.run(watch(directory, publish, args.every))
    return EXIT_OK
