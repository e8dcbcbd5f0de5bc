"""``eco submit --via portal``: each document sent to the portal's API over HTTPS with the
bearer token of ECO_PORTAL_TOKEN. A document without its own ``application_id`` gets the
file's content digest as its Idempotency-Key, so sending the same file again gets the first
answer."""

from __future__ import annotations

import hashlib
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from pipeline.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNREACHABLE
from pipeline.errors import InvalidInput
from pipeline.settings import Settings
from pipeline.submission import read_application_file


def submit_via_portal(settings: Settings, paths: Sequence[Path]) -> int:
    if not settings.portal_token:
        print("eco submit: --via portal needs ECO_PORTAL_TOKEN (an access token from the "
              "OpenID provider)", file=sys.stderr)
        return EXIT_BAD_INPUT
    context = ssl.create_default_context(
        cafile=str(settings.portal_ca_file) if settings.portal_ca_file else None)
    code = EXIT_OK
    with httpx.Client(base_url=settings.portal_url, verify=context, timeout=30, headers={
            "Authorization": f"Bearer {settings.portal_token}"}) as portal:
        for path in paths:
            try:
                body = path.read_bytes()
            except OSError as exc:
                print(f"eco submit: {path}: cannot read: {exc.strerror}", file=sys.stderr)
                code = EXIT_BAD_INPUT
                continue
            media = "application/xml" if path.suffix.lower() == ".xml" else "application/json"
            headers = {"Content-Type": media}
            if not _own_id(path):  # a document's own application_id is its idempotency key
                headers["Idempotency-Key"] = hashlib.sha256(body).hexdigest()
            try:
                answer = portal.post("/v1/applications", content=body, headers=headers)
            except httpx.HTTPError as exc:
                print(f"eco submit: the portal at {settings.portal_url} does not answer: {exc}",
                      file=sys.stderr)
                return EXIT_UNREACHABLE
            if answer.status_code == 202:
                print(f"{answer.json()['application_id']}\t{path}")
                continue
            problem = _problem(answer)
            for where, message in problem:
                print(f"eco submit: {path}: {where + ': ' if where else ''}{message}",
                      file=sys.stderr)
            if answer.status_code >= 500 or answer.status_code == 429:
                return EXIT_UNREACHABLE
            code = EXIT_BAD_INPUT
    return code


def _own_id(path: Path) -> bool:
    try:
        return bool(read_application_file(path).get("application_id"))
    except InvalidInput:
        return False  # the portal says what is wrong


def _problem(answer: httpx.Response) -> list[tuple[str, str]]:
    try:
        body = answer.json()
    except ValueError:
        return [("", f"HTTP {answer.status_code}")]
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return [(str(e.get("path", "")), str(e.get("message", ""))) for e in errors]
    return [("", f"HTTP {answer.status_code}: {body.get('detail', '')}")]
