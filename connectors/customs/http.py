"""The reference customs connector: the signed e-CO XML over HTTP(S), optionally with mutual TLS.

Wire contract (documented in docs/customs.md)::

    POST {base_url}/certificates      Content-Type: application/xml, body = the signed XML
    POST {base_url}/clarifications    Content-Type: application/json
    headers  Idempotency-Key, X-Eco-Application-Id, X-Eco-Certificate-Number,
             X-Eco-Certificate-Version, X-Eco-Callback (where customs post their decisions)
    2xx      a receipt {"receipt_id", "status": "ACKNOWLEDGED" | "TECH_REJECTED", "message"}
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from connectors.customs.protocol import Clarification, Delivery, Receipt, receipt_from_json
from pipeline.errors import BusinessRejection, CustomsTemporaryFailure, InvalidInput

DEFAULT_TIMEOUT = 10.0
RETRYABLE_4XX = frozenset({408, 425, 429})  # request timeout, too early, too many requests


def client_ssl_context(
    ca_file: Path | str | None = None,
    cert_file: Path | str | None = None,
    key_file: Path | str | None = None,
) -> ssl.SSLContext:
    """A verifying TLS client context: trust ``ca_file`` (else the system store), and present
    ``cert_file``/``key_file`` for mutual TLS when given."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


class HttpCustomsConnector:
    """One importing customs reached over HTTP(S); the session is opened lazily and closed by
    ``close`` (or ``async with``)."""

    def __init__(
        self,
        country: str,
        base_url: str,
        callback_url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.country = country.upper()
        self.base_url = base_url.rstrip("/")
        self.callback_url = callback_url.rstrip("/")
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def deliver(self, delivery: Delivery) -> Receipt:
        """POST the signed XML to ``{base_url}/certificates``."""
        headers = self._headers(
            delivery.idempotency_key,
            delivery.application_id,
            delivery.certificate_number,
            delivery.version,
        )
        headers["Content-Type"] = "application/xml"
        what = f"certificate {delivery.idempotency_key}"
        return await self._post("/certificates", delivery.document_xml, headers, what)

    async def send_clarification(self, clarification: Clarification) -> Receipt:
        """POST the clarification as JSON to ``{base_url}/clarifications``."""
        headers = self._headers(
            clarification.idempotency_key,
            clarification.application_id,
            clarification.certificate_number,
            clarification.version,
        )
        headers["Content-Type"] = "application/json"
        body = json.dumps(
            {
                "application_id": clarification.application_id,
                "certificate_number": clarification.certificate_number,
                "version": clarification.version,
                "explanation": clarification.explanation,
            }
        ).encode()
        what = f"clarification {clarification.idempotency_key}"
        return await self._post("/clarifications", body, headers, what)

    async def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> HttpCustomsConnector:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _headers(
        self, key: str, application_id: str, certificate_number: str, version: int
    ) -> dict[str, str]:
        return {
            "Idempotency-Key": key,
            "X-Eco-Application-Id": application_id,
            "X-Eco-Certificate-Number": certificate_number,
            "X-Eco-Certificate-Version": str(version),
            "X-Eco-Callback": self.callback_url,
            "Accept": "application/json",
        }

    async def _post(self, path: str, body: bytes, headers: dict[str, str], what: str) -> Receipt:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        url = self.base_url + path
        try:
            async with self._session.post(
                url, data=body, headers=headers, ssl=self._ssl, allow_redirects=False
            ) as resp:
                status = resp.status
                text = await resp.text(errors="replace")
        except TimeoutError as exc:
            raise CustomsTemporaryFailure(f"{self.country} customs: {what} timed out") from exc
        except aiohttp.ClientError as exc:
            raise CustomsTemporaryFailure(f"{self.country} customs: {what}: {exc}") from exc
        return self._receipt(status, text, what)

    def _receipt(self, status: int, text: str, what: str) -> Receipt:
        """Route on the HTTP status: 5xx (and 408, 425, 429: come back later) retryable, other 4xx
        a final refusal, 2xx a receipt."""
        if status >= 500 or status in RETRYABLE_4XX:
            raise CustomsTemporaryFailure(
                f"{self.country} customs answered {status} to {what}: {_problem_summary(text)}"
            )
        if status >= 400:
            raise BusinessRejection(
                f"{self.country} customs refused {what} with {status}: {_problem_summary(text)}"
            )
        if not 200 <= status < 300:
            raise CustomsTemporaryFailure(f"{self.country} customs answered {status} to {what}")
        try:
            return receipt_from_json(json.loads(text))
        except (ValueError, InvalidInput) as exc:
            # A 2xx we cannot read proves nothing was recorded: resending with the same key is safe.
            raise CustomsTemporaryFailure(
                f"{self.country} customs sent an unreadable receipt for {what}: {exc}"
            ) from exc


def _problem_summary(text: str) -> str:
    """``title: detail`` (and the listed errors) from an RFC 9457 body, else the raw text, short."""
    try:
        body: Any = json.loads(text)
    except ValueError:
        return text.strip()[:300] or "(no body)"
    if not isinstance(body, Mapping):
        return text.strip()[:300]
    parts = [str(body[k]) for k in ("title", "detail") if body.get(k)]
    errors = body.get("errors")
    if isinstance(errors, list):
        parts.extend(
            f"{e.get('path', '')}: {e.get('message', '')}" for e in errors if isinstance(e, Mapping)
        )
    return "; ".join(parts) or text.strip()[:300]
