"""Protections every request passes: security headers, a body-size limit, a JSON nesting
limit, and a request-rate limit per tenant (token bucket, pure and clock-driven)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.errors import Problem

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
SECURITY_HEADERS = [
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """HSTS, CSP, nosniff and friends on every response (``no-store`` unless the route
    says otherwise)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [h for h in SECURITY_HEADERS if h[0] not in present]
                if b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyLimit:
    """Refuses a body over ``limit`` bytes with 413, by its Content-Length or as it streams."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await _problem(send, 413, "Content too large",
                           f"the body exceeds the limit of {self.limit} bytes")
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        try:
            await self.app(scope, counted, send)
        except BodyTooLarge:
            await _problem(send, 413, "Content too large",
                           f"the body exceeds the limit of {self.limit} bytes")


class BodyTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"body over {limit} bytes")


async def _problem(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "https://eco-pipeline.dev/problems/"
                       + title.lower().replace(" ", "-"), "title": title, "status": status,
                       "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def nesting_problems(value: Any, limit: int) -> list[Problem]:
    """A problem if ``value`` nests deeper than ``limit`` arrays/objects (checked without
    recursion, so a hostile document cannot exhaust the stack)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return [Problem(path, f"nested deeper than {limit} levels")]
            children = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in children:
                where = f"{path}[{key}]" if isinstance(node, list) else (
                    f"{path}.{key}" if path else str(key))
                stack.append((child, depth + 1, where))
    return []


def parse_json_limited(body: bytes, limit: int) -> Any:
    """Decode JSON refusing deep nesting before Python's parser recurses into it."""
    depth = peak = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            peak = max(peak, depth)
            if peak > limit:
                raise ValueError(f"JSON nested deeper than {limit} levels")
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return json.loads(body)


@dataclass
class RateLimiter:
    """A token bucket per key: ``per_minute`` requests, bursts up to the same number."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, key: str) -> tuple[bool, float]:
        """(allowed, seconds until the next token)."""
        now = self.clock()
        capacity = float(self.per_minute)
        rate = capacity / 60.0
        tokens, last = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - last) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return True, 0.0
        self._buckets[key] = (tokens, now)
        return False, (1.0 - tokens) / rate if rate > 0 else 60.0
