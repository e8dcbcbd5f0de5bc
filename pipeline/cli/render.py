"""``eco render FILE.xml --lang en|th|vi --format html|pdf -o OUT [--trust DIR]``: a preview of
a certificate in one language; the certificate itself stays English.

The QR code points to ``$ECO_PORTAL_URL/v1/certificates/<number>`` (default
``https://127.0.0.1:8444``). Exit 0 written, 1 the signature does not verify (only checked with
``--trust``), 2 unreadable or unsafe file, not a certificate, bad option or unwritable output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.certificate.render import (
    DEFAULT_PORTAL_URL,
    LANGUAGES,
    preview_html,
    render_pdf,
    verification_url,
)
from pipeline.certificate.trust import TrustRegistry
from pipeline.certificate.verification import verify_certificate
from pipeline.cli import EXIT_BAD_INPUT, EXIT_NEGATIVE, EXIT_OK
from pipeline.errors import InvalidInput, SignatureInvalid, UnsafeXml
from pipeline.settings import Settings

PORTAL_URL_VARIABLE = "ECO_PORTAL_URL"
FORMATS = ("html", "pdf")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "render",
        help="a preview of a certificate in English, Thai or Vietnamese (HTML or PDF)",
        description="Lay a signed certificate out like the agreement's form, with labels and "
        "notes in the chosen language and the data as issued, and a QR code pointing to "
        f"${PORTAL_URL_VARIABLE}/v1/certificates/<number> (default {DEFAULT_PORTAL_URL}). "
        "Exit 0 written, 1 signature invalid (with --trust), 2 bad input.",
    )
    parser.add_argument("file", type=Path, metavar="FILE.xml", help="the certificate")
    parser.add_argument("--lang", choices=LANGUAGES, default="en",
                        help="language of the labels and notes (default en)")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="html or pdf (default: from the suffix of OUT, else html)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                        help="where to write the preview; - for standard output")
    parser.add_argument("--trust", type=Path, default=None, metavar="DIR",
                        help="verify the signature against the issuing authorities in DIR "
                        "first, and refuse a certificate that does not verify")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    path: Path = args.file
    output: Path = args.output
    fmt: str = args.format or ("pdf" if output.suffix.lower() == ".pdf" else "html")
    try:
        portal_url = Settings.from_env().portal_url  # ECO_PORTAL_URL
        verification_url(portal_url, "0")
    except ValueError as exc:
        return _bad_input(f"{PORTAL_URL_VARIABLE}: {exc}")
    try:
        document = path.read_bytes()
    except OSError as exc:
        return _bad_input(f"{path}: cannot read the file ({exc.strerror or exc})")
    if args.trust is not None:
        refused = _check_signature(path, document, args.trust)
        if refused is not None:
            return refused
    try:
        page = preview_html(document, args.lang, portal_url=portal_url)
    except (UnsafeXml, InvalidInput) as exc:
        return _bad_input(f"{path}: {exc}")
    content = render_pdf(page) if fmt == "pdf" else page.encode("utf-8")
    try:
        if str(output) == "-":
            sys.stdout.buffer.write(content)
            sys.stdout.flush()
        else:
            output.write_bytes(content)
    except OSError as exc:
        return _bad_input(f"-o {output}: cannot write ({exc.strerror or exc})")
    return EXIT_OK


def _check_signature(path: Path, document: bytes, trust_dir: Path) -> int | None:
    """The exit code refusing the certificate, or None when its signature verifies."""
    try:
        registry = TrustRegistry.from_dir(trust_dir)
    except (OSError, ValueError) as exc:
        return _bad_input(f"--trust {trust_dir}: {exc}")
    if not registry.authorities:
        return _bad_input(f"--trust {trust_dir}: no issuing authority (CA) certificate found")
    try:
        verify_certificate(document, registry)
    except SignatureInvalid as exc:
        print(f"INVALID {path}: {exc}", file=sys.stderr)
        return EXIT_NEGATIVE
    except (UnsafeXml, InvalidInput) as exc:
        return _bad_input(f"{path}: {exc}")
    return None


def _bad_input(message: str) -> int:
    print(f"eco render: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
