"""Asking an importing customs for its decision on a certificate: the reference connector's
status call, used by the reconciliation poller when a decision was not pushed to us.

Wire contract (docs/customs.md)::

    GET {base_url}/certificates/{number}/versions/{version}/decision
    200  the latest decision, in the response wire format of ``connectors.customs.responses``,
         signed like a callback (``X-Eco-Signature``)
    204  delivered, no decision yet
    404  the customs does not know this certificate version

Errors follow the error tree: a timeout, a connection failure or a 5xx raises
``CustomsTemporaryFailure``; another 4xx, an unsigned or forged answer, or a body that breaks
the wire format raises ``BusinessRejection`` / ``SignatureInvalid`` / ``InvalidInput``.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

import aiohttp

from connectors.customs.http import DEFAULT_TIMEOUT, RETRYABLE_4XX
from connectors.customs.responses import CustomsResponse, parse_response
from connectors.customs.signatures import SIGNATURE_HEADER, load_public_key, verify_response
from pipeline.errors import BusinessRejection, CustomsTemporaryFailure, SignatureInvalid


class CustomsStatus(Protocol):
    """The status call of one importing customs."""

    async def status(self, certificate_number: str, version: int) -> CustomsResponse | None:
        """The customs' latest decision on that version, or None while it has none."""
        ...

    async def close(self) -> None:
        ...


class HttpCustomsStatus:
    """The status call of the reference connector, over HTTP(S) with optional mutual TLS."""

    def __init__(self, country: str, base_url: str, trust_dir: Path,
                 map_status: Callable[[str], str] | None = None, *,
                 ssl_context: ssl.SSLContext | None = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.country = country.upper()
        self.base_url = base_url.rstrip("/")
        self._trust_dir = trust_dir
        self._map_status = map_status
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def status(self, certificate_number: str, version: int) -> CustomsResponse | None:
        """GET the decision; None for 204 (none yet) and 404 (unknown here)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        url = (f"{self.base_url}/certificates/{quote(certificate_number, safe='')}"
               f"/versions/{version}/decision")
        what = f"the decision on {certificate_number} version {version}"
        try:
            async with self._session.get(url, ssl=self._ssl, allow_redirects=False,
                                         headers={"Accept": "application/json"}) as resp:
                status, body = resp.status, await resp.read()
                signature = resp.headers.get(SIGNATURE_HEADER, "")
        except TimeoutError as exc:
            raise CustomsTemporaryFailure(f"{self.country} customs: {what} timed out") from exc
        except aiohttp.ClientError as exc:
            raise CustomsTemporaryFailure(f"{self.country} customs: {what}: {exc}") from exc
        if status >= 500 or status in RETRYABLE_4XX:
            raise CustomsTemporaryFailure(f"{self.country} customs answered {status} to {what}")
        if status in (204, 404):
            return None
        if status != 200:
            raise BusinessRejection(f"{self.country} customs answered {status} to {what}")
        if not signature:
            raise SignatureInvalid(f"{self.country} customs sent {what} unsigned")
        verify_response(body, signature, load_public_key(self._trust_dir, self.country),
                        self.country)
        try:
            decoded = json.loads(body)
        except ValueError as exc:
            raise BusinessRejection(f"{self.country} customs sent {what} as non-JSON") from exc
        return parse_response(self.country, decoded, self._map_status)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
