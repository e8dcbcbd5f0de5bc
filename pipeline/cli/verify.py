"""``eco verify FILE.xml [--trust DIR] [--with-updates]``: verify a signed e-CO against the
trust registry; ``--with-updates`` also applies the notifications published on ``eco.trust``
(authorities added or withdrawn, Form E Rule 3) on top of the directory's certificates.

Exit 0 valid (prints number, version, office and signer), 1 invalid (prints the reason),
2 unreadable file, unsafe or malformed XML, or an unusable trust directory, 3 no broker
(only with ``--with-updates``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.certificate.trust import TrustRegistry
from pipeline.certificate.verification import verify_certificate
from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import DependencyUnavailable, InvalidInput, SignatureInvalid, UnsafeXml
from pipeline.settings import Settings

DEFAULT_TRUST_DIR = Path(".eco/demo/trust")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "verify",
        help="verify a signed e-CO against the trust registry",
        description="Verify the XML signature of a certificate and that its signer is an "
        "issuing authority of the trust registry. Exit 0 valid, 1 invalid, 2 bad input.",
    )
    parser.add_argument("file", type=Path, metavar="FILE.xml", help="the signed certificate")
    parser.add_argument(
        "--trust",
        type=Path,
        default=DEFAULT_TRUST_DIR,
        metavar="DIR",
        help="directory of PEM certificates of the issuing authorities "
        f"(default ECO_TRUST_DIR when set, else {DEFAULT_TRUST_DIR}, written by `eco demo`)",
    )
    parser.add_argument(
        "--with-updates",
        action="store_true",
        help="also apply the authorities added or withdrawn on the topic eco.trust "
        "(read from ECO_KAFKA_BOOTSTRAP)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    trust_dir: Path = args.trust
    if trust_dir == DEFAULT_TRUST_DIR:
        trust_dir = _configured_trust() or trust_dir
    try:
        document = path.read_bytes()
    except OSError as exc:
        return _bad_input(f"{path}: cannot read the file ({exc.strerror or exc})")
    try:
        registry = TrustRegistry.from_dir(trust_dir)
    except (OSError, ValueError) as exc:
        hint = " (`eco demo` writes one)" if trust_dir == DEFAULT_TRUST_DIR else ""
        return _bad_input(f"--trust {trust_dir}: {exc}{hint}")
    if getattr(args, "with_updates", False):
        from pipeline.cli.trust import published

        try:
            registry = published(registry, Settings.from_env().kafka_bootstrap).registry
        except ValueError as exc:
            return _bad_input(str(exc))
        except DependencyUnavailable as exc:
            print(f"eco verify: --with-updates: {exc}", file=sys.stderr)
            return EXIT_UNREACHABLE
    if not registry.authorities:
        return _bad_input(f"--trust {trust_dir}: no issuing authority (CA) certificate found")
    try:
        verified = verify_certificate(document, registry)
    except SignatureInvalid as exc:
        print(f"INVALID {path}: {exc}")
        return EXIT_NEGATIVE
    except (UnsafeXml, InvalidInput) as exc:
        return _bad_input(f"{path}: {exc}")
    office = verified.issuing_office
    print(f"VALID {path}")
    print(f"  certificate: {verified.number} version {verified.version} ({verified.agreement})")
    if verified.supersedes:
        print(f"  supersedes:  {verified.supersedes}")
    print(f"  issued:      {verified.issued_at.isoformat()}")
    print(f"  office:      {office.code} {office.name}, {office.address}, {office.country}")
    print(f"  signer:      {verified.signer_subject}")
    print(f"  authority:   {verified.authority}")
    return EXIT_OK


def _bad_input(message: str) -> int:
    print(f"eco verify: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _configured_trust() -> Path | None:
    """ECO_TRUST_DIR, when the deployment set it."""
    from pipeline.settings import Settings

    try:
        return Settings.from_env().trust_dir
    except ValueError:
        return None
