"""``eco trust add|withdraw|list``: notify changes to the issuing authorities (Form E Rule 3)
and show the trust registry as the workers apply it.

``add`` and ``withdraw`` check the certificate locally (a readable PEM file holding a CA
certificate, in the country given), then publish ``eco.trust.updated.v1`` on ``eco.trust``
and print what was published. ``list`` shows the trust directory's authorities with every
notification published on ``eco.trust`` applied, and which are in force at an instant.

Exit 0 done, 2 bad input (stderr names the file or option and the problem), 3 no broker.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from pipeline import events, feeds
from pipeline.certificate.notices import NoticeSigner, notice_keys, notice_signer
from pipeline.certificate.notification import (
    TRUST_TOPIC,
    TRUST_UPDATED,
    Replayed,
    TrustNotification,
    notification_id,
    readable,
    replay,
)
from pipeline.certificate.trust import TrustRegistry
from pipeline.certificate.trustview import describe
from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import (
    ConfigurationError,
    DependencyUnavailable,
    InvalidInput,
    Problem,
    SignatureInvalid,
)
from pipeline.events import Envelope
from pipeline.issuing import trust_directory
from pipeline.settings import Settings

SOURCE = "eco/trust-cli"


class BadInput(Exception):
    """A problem with the command's input, already worded for stderr."""


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "trust", help="notify or list the issuing authorities of the trust registry",
        description="Publish an issuing authority's CA certificate added or withdrawn "
        "(Form E Rule 3), or list the trust registry as the workers apply it.")
    actions = parser.add_subparsers(dest="trust_action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="put an authority's CA certificate in force",
                             description="Publish an ADD notification: the CA certificate is "
                             "in force from --effective-at (default now); for a certificate "
                             "already in force, its name and address are updated.")
    add.add_argument("certificate", type=Path, metavar="CERT.pem")
    add.add_argument("--country", metavar="CC",
                     help="the authority's country (default: C of the certificate's subject; "
                     "must equal it)")
    add.add_argument("--name", help="the authority's name (default: O, else CN, of the subject)")
    add.add_argument("--address", help="the authority's address (default: street and locality "
                     "of the subject)")
    withdraw = actions.add_parser("withdraw", help="take an authority's CA certificate out of "
                                  "force", description="Publish a WITHDRAW notification: "
                                  "certificates signed before --effective-at keep verifying.")
    withdraw.add_argument("certificate", type=Path, metavar="CERT.pem")
    for each in (add, withdraw):
        each.add_argument("--effective-at", metavar="ISO",
                          help="when the change applies, ISO 8601 with a time zone "
                          "(default: now, UTC)")
        each.add_argument("--reference", help="the notification's reference (free text)")
        each.add_argument("--notified-by", metavar="WHO",
                          help="who notified the change (free text)")
        each.set_defaults(run=run_notify)

    listing = actions.add_parser("list", help="the authorities, and which are in force",
                                 description="The trust directory's authorities with every "
                                 "notification on eco.trust applied.")
    listing.add_argument("--trust", type=Path, metavar="DIR",
                         help="directory of the authorities' PEM certificates "
                         "(default: $ECO_DATA_DIR/pki/trust, what the workers use)")
    listing.add_argument("--at", metavar="ISO", help="mark what is in force at this instant, "
                         "ISO 8601 with a time zone (default: now)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=run_list)


def parse_instant(text: str, option: str) -> datetime:
    """An ISO 8601 instant with its time zone; BadInput naming ``option`` otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"{option} {text}: not an ISO 8601 date-time "
                       "(for example 2026-05-20T08:00:00+08:00)") from None
    if moment.utcoffset() is None:
        raise BadInput(f"{option} {text}: no time zone; add Z or an offset such as +08:00")
    return moment


def read_certificate(path: Path) -> bytes:
    """The PEM text of the one certificate in ``path``; BadInput naming the file otherwise."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    try:
        certificates = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise BadInput(f"{path}: not a PEM certificate file") from None
    if len(certificates) != 1:
        raise BadInput(f"{path}: holds {len(certificates)} certificates; one is expected")
    return pem


def notification(action: str, pem: bytes, *, country: str | None = None,
                 name: str | None = None, address: str | None = None,
                 effective_at: datetime | None = None, reference: str | None = None,
                 notified_by: str | None = None, now: datetime | None = None,
                 where: str = "certificate") -> TrustNotification:
    """The notification to publish, checked as the trust stage checks it; BadInput naming
    the problem. ``effective_at`` defaults to ``now`` (UTC, to the millisecond)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    if country is None:
        country = _subject_country(pem)
    data: dict[str, Any] = {
        "country": country.upper(), "action": action, "certificate_pem": pem.decode(),
        "effective_at": effective_at or now, "name": name, "address": address,
        "notified_by": notified_by, "reference": reference, "published_at": now,
    }
    try:
        return TrustNotification.from_event(notification_id(data), data)
    except InvalidInput as exc:
        raise BadInput("; ".join(_worded(p, where) for p in exc.problems)) from exc


def _worded(problem: Problem, where: str) -> str:
    if problem.path == "certificate_pem":
        return f"{where}: {problem.message}"
    if problem.path == "country":
        return f"{where}: country {problem.message}"
    return f"{where}: {problem}"


def _subject_country(pem: bytes) -> str:
    try:
        subject = x509.load_pem_x509_certificate(pem).subject
    except ValueError:
        return ""
    found = subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return str(found[0].value) if found else ""


def trust_event(notice: TrustNotification, signer: NoticeSigner | None = None) -> Envelope:
    """The ``eco.trust.updated.v1`` event of a notification, keyed by its country, signed by
    ``signer`` (the workers refuse an unsigned one)."""
    data = notice.event_data()
    if signer is not None:
        data = signer.sign(notice.id, TRUST_UPDATED, notice.country, data)
    return events.new_envelope(TRUST_UPDATED, data, source=SOURCE,
                               subject=notice.country, id=notice.id, time=notice.published_at)


def published(files: TrustRegistry, bootstrap: str) -> Replayed:
    """``files`` with every valid notification on ``eco.trust`` applied in order, as the
    workers apply them (signed by an accepted trust key); DependencyUnavailable without a
    broker."""
    found = feeds.run(feeds.read_events(bootstrap, TRUST_TOPIC))
    keys = notice_keys(Settings.from_env())
    unsigned: list[tuple[str, str]] = []
    signed = []
    for e in found:
        if e.type != TRUST_UPDATED or e.subject != e.data["country"]:
            continue
        try:
            keys.verify(e.id, e.type, e.subject, e.data)
        except SignatureInvalid as exc:
            unsigned.append((e.id, str(exc)))
            continue
        signed.append(e)
    notices, invalid = readable((e.id, e.data) for e in signed)
    invalid = [*unsigned, *invalid]
    replayed = replay(files, notices)
    return Replayed(replayed.registry, (*invalid, *replayed.skipped))


def run_notify(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        effective_at = (parse_instant(args.effective_at, "--effective-at")
                        if args.effective_at else None)
        notice = notification(
            args.trust_action.upper(), read_certificate(args.certificate),
            country=getattr(args, "country", None), name=getattr(args, "name", None),
            address=getattr(args, "address", None), effective_at=effective_at,
            reference=args.reference, notified_by=args.notified_by,
            where=str(args.certificate))
    except (BadInput, ValueError) as exc:
        return _bad_input(str(exc))
    try:
        signer = notice_signer(settings, TRUST_UPDATED)
    except ConfigurationError as exc:
        return _bad_input(str(exc))
    try:
        feeds.run(feeds.publish(settings.kafka_bootstrap, [trust_event(notice, signer)]))
    except DependencyUnavailable as exc:
        print(f"eco trust: {exc} (start one with `eco kafka start`)", file=sys.stderr)
        return EXIT_UNREACHABLE
    update = notice.update
    label = f" {update.name}" if update.name else ""
    print(f"published {notice.action} {notice.country}{label} "
          f"sha256:{notice.fingerprint[:16]} effective {update.effective_at.isoformat()} "
          f"(event {notice.id}, topic {TRUST_TOPIC})")
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        at = parse_instant(args.at, "--at") if args.at else datetime.now(UTC)
    except (BadInput, ValueError) as exc:
        return _bad_input(str(exc))
    directory: Path = args.trust or trust_directory(settings)
    try:
        files = TrustRegistry.from_dir(directory)
    except (OSError, ValueError) as exc:
        return _bad_input(f"--trust {directory}: {exc}")
    try:
        replayed = published(files, settings.kafka_bootstrap)
    except DependencyUnavailable as exc:
        print(f"eco trust: {exc} (start one with `eco kafka start`)", file=sys.stderr)
        return EXIT_UNREACHABLE
    rows = describe(replayed.registry, at, flag="in_force")
    if args.json:
        print(json.dumps({"at": at.isoformat(), "authorities": rows,
                          "skipped": [{"id": i, "reason": r} for i, r in replayed.skipped]},
                         indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"trust registry at {at.isoformat()} ({directory} and {TRUST_TOPIC})")
    for line in table(rows):
        print(line)
    for event_id, reason in replayed.skipped:
        print(f"skipped notification {event_id}: {reason}")
    return EXIT_OK


def table(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Text lines: one per registry entry, marked IN FORCE or - at the instant asked."""
    lines = []
    for row in rows:
        mark = "IN FORCE" if row["in_force"] else "-"
        period = f"{row['in_force_from'] or 'files'} .. {row['in_force_until'] or 'open'}"
        lines.append(f"{mark:8}  {row['country']}  {row['name']}  "
                     f"sha256:{row['fingerprint'][:16]}  {period}")
    return lines or ["(no issuing authority)"]


def _bad_input(message: str) -> int:
    print(f"eco trust: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
