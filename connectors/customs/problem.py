"""HTTP error bodies as RFC 9457 problem details, with an ``errors`` list of {path, message}."""

from __future__ import annotations

from collections.abc import Iterable

from aiohttp import web

from pipeline.errors import Problem

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://eco-pipeline.dev/problems/"


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    kind: str | None = None,
    errors: Iterable[Problem] = (),
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A ``application/problem+json`` response (RFC 9457); ``kind`` names the problem type URI,
    which is ``about:blank`` when the HTTP status says it all."""
    body = {
        "type": PROBLEM_BASE + kind if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [{"path": p.path, "message": p.message} for p in errors],
    }
    response = web.json_response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    response.headers.update(headers or {})
    return response
