"""``eco documents ID KIND=FILE...``: supply the supporting documents the issuing authority
asked for (Form E Rule 4); the examination of application ID resumes.

``KIND`` is the kind the request names (``COST_STATEMENT``...); the event carries each
file's name, size and SHA-256. Exit 0 when published, 2 for bad arguments or an
unreadable file, 3 when the broker does not answer.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import events, feeds
from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable, InvalidInput, Problem
from pipeline.events import Envelope
from pipeline.settings import Settings

SUPPLIED = "eco.application.documents-supplied.v1"
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_NAMESPACE = uuid.UUID("a81f3c52-6d4e-4b07-9e21-5f8c0d7b3a64")


def supplied_document(argument: str) -> dict[str, Any]:
    """One ``KIND=FILE`` argument as a supplied document; InvalidInput says what is wrong."""
    kind, sep, name = argument.partition("=")
    if not sep or not _KIND.fullmatch(kind) or not name:
        raise InvalidInput([Problem(argument, "expected KIND=FILE, e.g. COST_STATEMENT=cost.pdf")])
    path = Path(name)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InvalidInput([Problem(name, f"cannot read: {exc.strerror or exc}")]) from exc
    return {"kind": kind.upper(), "reference": path.name,
            "sha256": hashlib.sha256(content).hexdigest(), "size_bytes": len(content)}


def documents_event(application_id: str, documents: Sequence[dict[str, Any]],
                    via: str = "CLI") -> Envelope:
    """The ``eco.application.documents-supplied.v1`` event; the id derives from the
    application and the documents' digests, so supplying the same files twice is one event."""
    digest = "|".join(sorted(f"{d['kind']}:{d.get('sha256')}" for d in documents))
    data = {"application_id": application_id, "documents": list(documents),
            "supplied_via": via, "supplied_at": datetime.now(UTC)}
    return events.new_envelope(SUPPLIED, data, source="eco/intake", subject=application_id,
                               id=str(uuid.uuid5(_NAMESPACE, f"{application_id}|{digest}")))


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "documents", help="supply documents an application waits for (DOCUMENTS_REQUESTED)",
        description="Supply the supporting documents the issuing authority asked for; "
        "`eco status ID` lists them. The examination resumes when they arrive.")
    parser.add_argument("application_id", metavar="ID")
    parser.add_argument("documents", nargs="+", metavar="KIND=FILE")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    documents: list[dict[str, Any]] = []
    failed = False
    for argument in args.documents:
        try:
            documents.append(supplied_document(argument))
        except InvalidInput as exc:
            failed = True
            for problem in exc.problems:
                print(f"eco documents: {problem.path}: {problem.message}", file=sys.stderr)
    if failed:
        return EXIT_BAD_INPUT
    try:
        feeds.run(feeds.publish(settings.kafka_bootstrap,
                                [documents_event(args.application_id, documents)]))
    except DependencyUnavailable as exc:
        print(f"eco documents: {exc} (start one with `eco kafka start`)", file=sys.stderr)
        return EXIT_UNREACHABLE
    for document in documents:
        print(f"{args.application_id}\t{document['kind']}\t{document['reference']}")
    return EXIT_OK
