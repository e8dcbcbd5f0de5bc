"""Errors as ``application/problem+json`` (RFC 9457): what is wrong, and where (field paths)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from pipeline.errors import Problem

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://eco-pipeline.dev/problems/"


class ApiProblem(Exception):
    """Raised by a route: becomes a problem response."""

    def __init__(self, status: int, title: str, detail: str, *, kind: str | None = None,
                 errors: Iterable[Problem] = (), headers: Mapping[str, str] | None = None
                 ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.errors = tuple(errors)
        self.headers = dict(headers or {})


def problem_body(status: int, title: str, detail: str, kind: str, instance: str = "",
                 errors: Sequence[Problem] = ()) -> dict[str, Any]:
    body: dict[str, Any] = {"type": TYPE_BASE + kind, "title": title, "status": status,
                            "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [{"path": p.path, "message": p.message} for p in errors]
    return body


def problem_response(status: int, title: str, detail: str, *, kind: str | None = None,
                     instance: str = "", errors: Sequence[Problem] = (),
                     headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem_body(status, title, detail,
                                     kind or title.lower().replace(" ", "-"), instance, errors),
                        status_code=status, media_type=MEDIA_TYPE, headers=dict(headers or {}))


async def on_api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return problem_response(exc.status, exc.title, exc.detail, kind=exc.kind,
                            instance=request.url.path, errors=exc.errors, headers=exc.headers)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [Problem(".".join(str(p) for p in error.get("loc", ())),
                        str(error.get("msg", "invalid"))) for error in exc.errors()]
    return problem_response(422, "Invalid request", "the request breaks the API's schema: "
                            + "; ".join(str(p) for p in problems), instance=request.url.path,
                            errors=problems, kind="invalid-request")


_TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
           405: "Method not allowed", 406: "Not acceptable", 413: "Content too large",
           415: "Unsupported media type", 429: "Too many requests"}


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    title = _TITLES.get(exc.status_code, "Error")
    return problem_response(exc.status_code, title, str(exc.detail), instance=request.url.path,
                            headers=exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(500, "Internal error", "the portal failed to answer; the error is "
                            "logged", instance=request.url.path, kind="internal-error")
