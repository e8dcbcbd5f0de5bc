"""``eco certificate supersede|copy|revoke ID``: an authorised officer's request for a new
version of an issued certificate, or its revocation (Form E Rule 10).

The request is published to ``eco.issuance-commands``; the issuance stage applies it with the
same numbering guarantees as a first issue, and ``eco status ID`` shows the outcome.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline import events, feeds
from pipeline.certificate.notices import NoticeSigner, notice_signer
from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import ConfigurationError, DependencyUnavailable, InvalidInput
from pipeline.settings import Settings
from pipeline.submission import read_document
from pipeline.versions import CERTIFIED_TRUE_COPY, REVOKE, SUPERSEDE

REQUESTED = "eco.certificate.requested.v1"
ACTION_OF = {"supersede": SUPERSEDE, "copy": CERTIFIED_TRUE_COPY, "revoke": REVOKE}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "certificate", help="supersede, copy or revoke an issued certificate",
        description="Ask the issuance stage for a corrected version (supersede), a certified "
        "true copy of a lost certificate (copy), or a revocation (revoke). An authorised "
        "officer's approval and the reason are recorded in the resulting event.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (("supersede", "issue a corrected version with a new number"),
                       ("copy", "issue a certified true copy of a lost certificate"),
                       ("revoke", "revoke the current version")):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("id", metavar="ID", help="the application id")
        action.add_argument("--approved-by", required=True, metavar="OFFICER",
                            help="the authorised officer approving the request")
        action.add_argument("--reason", required=True, help="why (recorded in the event)")
        action.add_argument("--number", metavar="NUMBER",
                            help="the certificate number acted on (default: the current one "
                            "from eco.status)")
        if name == "supersede":
            action.add_argument("--document", required=True, type=Path, metavar="FILE",
                                help="the corrected application (JSON)")
        action.set_defaults(run=run)


def request_envelope(application_id: str, action: str, number: str, *, reason: str,
                     approved_by: str, document: str | None = None,
                     signer: NoticeSigner | None = None) -> events.Envelope:
    """The ``eco.certificate.requested.v1`` event of one officer's request, signed by
    ``signer`` (the issuance stage refuses an unsigned one)."""
    data: dict[str, Any] = {
        "application_id": application_id, "action": action, "certificate_number": number,
        "reason": reason, "approved_by": approved_by, "document": document,
        "requested_at": datetime.now(UTC)}
    event_id = str(uuid.uuid4())
    if signer is not None:
        data = signer.sign(event_id, REQUESTED, application_id, data)
    return events.new_envelope(REQUESTED, data, source="eco/cli", subject=application_id,
                               id=event_id)


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if not args.reason.strip() or not args.approved_by.strip():
        print("eco certificate: --reason and --approved-by must not be empty", file=sys.stderr)
        return EXIT_BAD_INPUT
    document: str | None = None
    if args.action == "supersede":
        try:
            corrected, _ = read_document(args.document)
        except InvalidInput as exc:
            for problem in exc.problems:
                where = f"{args.document}: {problem.path}" if problem.path else str(args.document)
                print(f"eco certificate: {where}: {problem.message}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if corrected.get("application_id", args.id) != args.id:
            print(f"eco certificate: {args.document}: application_id: is "
                  f"{corrected.get('application_id')!r}, not {args.id!r}", file=sys.stderr)
            return EXIT_BAD_INPUT
        document = json.dumps({**corrected, "application_id": args.id})
    try:
        number = args.number
        if number is None:
            found = feeds.run(feeds.latest_statuses(settings.kafka_bootstrap, [args.id]))
            number = (found.get(args.id) or {}).get("certificate_number")
            if not number:
                print(f"eco certificate: no certificate is known for {args.id!r}",
                      file=sys.stderr)
                return EXIT_NEGATIVE
        envelope = request_envelope(args.id, ACTION_OF[args.action], number, reason=args.reason,
                                    approved_by=args.approved_by, document=document,
                                    signer=notice_signer(settings, REQUESTED))
        feeds.run(feeds.publish(settings.kafka_bootstrap, [envelope]))
    except ConfigurationError as exc:
        print(f"eco certificate: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DependencyUnavailable as exc:
        print(f"eco certificate: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    print(f"{envelope.id}\t{args.action}\t{args.id}\t{number}")
    return EXIT_OK
