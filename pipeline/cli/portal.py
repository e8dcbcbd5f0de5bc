"""``eco portal``: the Origin Service Portal, HTTPS API and web pages (ECO_PORTAL_*,
ECO_OIDC_* settings)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK
from pipeline.errors import InvalidInput
from pipeline.settings import Settings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "portal", help="the Origin Service Portal (HTTPS API and web pages)",
        description="Serve the portal over HTTPS at ECO_PORTAL_HOST:ECO_PORTAL_PORT with the "
        "certificate ECO_PORTAL_TLS_CERT/KEY; tokens from ECO_OIDC_ISSUER.")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from connectors.portal.server import serve

    try:
        settings = Settings.from_env()
        serve(settings)
    except ValueError as exc:
        print(f"eco portal: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except InvalidInput as exc:
        for problem in exc.problems:
            print(f"eco portal: {problem.path}: {problem.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK
