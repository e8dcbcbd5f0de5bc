"""``eco submit FILE... [--via kafka]``: submit application documents; one id per file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline import feeds
from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable, InvalidInput
from pipeline.settings import Settings
from pipeline.submission import Submission, read_application_file, submission


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "submit", help="submit application documents (JSON or XML)",
        description="Validate and submit application documents. Invalid files are reported "
        "with the file and the field, and nothing is produced for them. XML documents follow "
        "the published schema (pipeline/application/schema/application-1.xsd).")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--via", choices=["kafka", "portal"], default="kafka",
                        help="the channel: straight to Kafka, or the portal's API (with "
                        "ECO_PORTAL_URL and ECO_PORTAL_TOKEN)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.via == "portal":
        from pipeline.cli.submit_portal import submit_via_portal

        return submit_via_portal(settings, args.files)
    good: list[tuple[Path, Submission]] = []
    failed = False
    for path in args.files:
        try:
            document = read_application_file(path)
            good.append((path, submission(document, source=str(path), via="CLI",
                                          document_format=_format_of(path))))
        except InvalidInput as exc:
            failed = True
            for problem in exc.problems:
                where = f"{path}: {problem.path}" if problem.path else str(path)
                print(f"eco submit: {where}: {problem.message}", file=sys.stderr)
    if good:
        try:
            feeds.run(feeds.publish(settings.kafka_bootstrap, [s.envelope for _, s in good]))
        except DependencyUnavailable as exc:
            print(f"eco submit: {exc} (start one with `eco kafka start`)", file=sys.stderr)
            return EXIT_UNREACHABLE
        for path, sub in good:
            print(f"{sub.application_id}\t{path}")
    return EXIT_BAD_INPUT if failed else EXIT_OK


def _format_of(path: Path) -> str:
    return "XML_V1" if path.suffix.lower() == ".xml" else "JSON_V1"
