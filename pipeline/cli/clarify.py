"""``eco clarify ID --explanation TEXT --approved-by NAME``: the issuing authority answers the
importing customs about a delivered certificate.

After a Box 4 "not given" marking the issuing authority may clarify, and the customs decides
again (Form E Rule 8(e)-(f)); after a verification request it replies within the agreement's
time (RCEP Article 3.24). The command publishes ``eco.certificate.clarified.v1``, which the
transmission stage sends to the customs. Its id derives from the customs response it answers,
so running the command twice sends one clarification.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pipeline import events, feeds
from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable, EcoError
from pipeline.events import Envelope
from pipeline.settings import Settings

CLARIFIED = "eco.certificate.clarified.v1"
RESPONDED = "eco.customs.responded.v1"
ANSWERABLE = {"PREFERENCE_NOT_GIVEN": "BOX4_REJECTION",
              "VERIFICATION_REQUESTED": "VERIFICATION_REQUEST"}
CLARIFY_NAMESPACE = uuid.UUID("0b7e3d52-4f1a-4c6e-9a27-5d8c1f2e3a40")


def register(sub: Any) -> None:
    """Add the ``clarify`` command."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "clarify", help="send a clarification after a Box 4 rejection or a verification request",
        description="Answer the importing customs' last Box 4 rejection (Form E Rule 8) or "
        "verification request (RCEP Article 3.24) on the application's certificate.")
    parser.add_argument("id", metavar="ID", help="the application id")
    parser.add_argument("--explanation", required=True, metavar="TEXT",
                        help="the issuing authority's explanation, as the customs will read it")
    parser.add_argument("--approved-by", required=True, metavar="NAME",
                        help="the officer who approved the clarification")
    parser.set_defaults(run=run)


def answered_response(responses: Iterable[Envelope]) -> Envelope | None:
    """The latest customs response that a clarification can answer: a Box 4 rejection or a
    verification request (later decisions close the matter)."""
    latest: Envelope | None = None
    for envelope in responses:
        if envelope.type != RESPONDED:
            continue
        status = envelope.data["status"]
        if status in ANSWERABLE:
            latest = envelope
        elif status in ("PREFERENCE_GIVEN",):
            latest = None
    return latest


def clarified_event(response: Envelope, explanation: str, approved_by: str,
                    at: datetime | None = None) -> Envelope:
    """The clarification of ``response``; its id derives from the response's id."""
    d = response.data
    return events.new_envelope(
        CLARIFIED,
        {"application_id": response.subject, "certificate_number": d["certificate_number"],
         "version": d["version"], "importing_country": d["importing_country"],
         "answers": ANSWERABLE[d["status"]], "responding_to": d["response_id"],
         "explanation": explanation.strip(), "approved_by": approved_by.strip(),
         "clarified_at": at or datetime.now(UTC)},
        source="eco/cli/clarify", subject=response.subject,
        id=str(uuid.uuid5(CLARIFY_NAMESPACE, response.id)),
    )


async def _responses_of(bootstrap: str, application_id: str) -> list[Envelope]:
    found: list[Envelope] = []
    async for record in feeds.read_topic(bootstrap, "eco.customs-response"):
        if record.key != application_id.encode():
            continue
        try:
            found.append(events.from_record(record.key, record.value, list(record.headers)))
        except EcoError:
            continue  # not ours to judge here: the stages dead-letter it
    return sorted(found, key=lambda e: e.time)


def run(args: argparse.Namespace) -> int:
    """Check the application waits on a clarification, then publish it."""
    for option, value in (("--explanation", args.explanation), ("--approved-by", args.approved_by)):
        if not value.strip():
            print(f"eco clarify: {option} must not be empty", file=sys.stderr)
            return EXIT_BAD_INPUT
    settings = Settings.from_env()
    try:
        statuses = feeds.run(feeds.latest_statuses(settings.kafka_bootstrap, [args.id]))
        status = statuses.get(args.id)
        if status is None:
            print(f"eco clarify: no application {args.id!r} is known", file=sys.stderr)
            return EXIT_NEGATIVE
        if status["state"] not in ("REJECTED", "VERIFICATION_REQUESTED"):
            print(f"eco clarify: {args.id} is {status['state']}: only a certificate REJECTED "
                  "in Box 4 or under a VERIFICATION_REQUESTED can be clarified",
                  file=sys.stderr)
            return EXIT_BAD_INPUT
        response = answered_response(
            feeds.run(_responses_of(settings.kafka_bootstrap, args.id)))
        if response is None:
            print(f"eco clarify: {args.id}: no customs response to answer was found",
                  file=sys.stderr)
            return EXIT_BAD_INPUT
        event = clarified_event(response, args.explanation, args.approved_by)
        feeds.run(feeds.publish(settings.kafka_bootstrap, [event]))
    except DependencyUnavailable as exc:
        print(f"eco clarify: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    d = event.data
    print(f"{args.id}\t{d['answers']}\t{d['certificate_number']} v{d['version']} to "
          f"{d['importing_country']}\t{event.id}", flush=True)
    return EXIT_OK
