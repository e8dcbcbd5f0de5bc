"""The sandbox customs: a real HTTP(S) server playing the importing customs of VN, TH and MY.

It speaks the reference connector's wire contract (``connectors.customs.http``), answers with
receipts, and later posts decisions to ``{callback}/v1/customs/{country}/responses`` as the
scenario of each application says (``connectors.customs.scenarios``). Idempotency keys are
honoured: a redelivery gets the first receipt and is not processed again. ``GET /sandbox/stats``
shows what it received, for tests and the demo. ``GET /customs/{country}/certificates/{number}/
versions/{version}/decision`` answers the status call (``connectors.customs.status``) with the
latest decision made, whether or not its callback got through.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import structlog
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from lxml import etree

from connectors.customs.problem import problem_response
from connectors.customs.responses import CustomsResponse, response_to_json
from connectors.customs.scenarios import (
    DEMO_SCENARIOS,
    Decision,
    Scenario,
    ScenarioBook,
    Stage,
    decisions,
)
from connectors.customs.signatures import SIGNATURE_HEADER, sign_response
from pipeline.certificate.safexml import parse_xml
from pipeline.certificate.trust import TrustRegistry
from pipeline.certificate.verification import verify_certificate
from pipeline.errors import EcoError, InvalidInput, Problem, UnsafeXml
from pipeline.jsonlimits import RESPONSE_JSON, read_json_bytes

SANDBOX_COUNTRIES = ("VN", "TH", "MY")
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024

CALLBACK_BACKOFF_CAP = 10.0
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DeliveredCertificate:
    """What the sandbox remembers of a processed delivery, to answer its clarification later."""

    application_id: str
    certificate_number: str
    version: int
    country: str
    scenario: Scenario
    callback: str


def parse_certificate_xml(document: bytes, limit: int = MAX_DOCUMENT_BYTES) -> etree._Element:
    """Parse an e-CO with the project's hardened parser (``pipeline.certificate.safexml``: no
    DTD, no entities, no XInclude, no network, bounded size and depth). Raises ValueError
    saying why the document is refused."""
    try:
        return parse_xml(document, max_bytes=limit, source="delivery")
    except (UnsafeXml, InvalidInput) as exc:
        raise ValueError(str(exc)) from exc


class SandboxCustoms:
    """The sandbox customs server; ``port=0`` picks a free port, read the result from ``url``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        callback_url: str | None = None,
        scenarios: ScenarioBook = DEMO_SCENARIOS,
        delay: float = 0.5,
        countries: tuple[str, ...] = SANDBOX_COUNTRIES,
        certfile: Path | None = None,
        keyfile: Path | None = None,
        client_ca: Path | None = None,
        callback_ssl: ssl.SSLContext | None = None,
        callback_attempts: int = 12,
        callback_backoff: float = 0.2,
        max_document_bytes: int = MAX_DOCUMENT_BYTES,
        trust_dir: Path | None = None,
        signing_keys: Mapping[str, ec.EllipticCurvePrivateKey] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.callback_url = callback_url.rstrip("/") if callback_url else None
        self.scenarios = scenarios
        self.delay = delay
        self.countries = tuple(c.upper() for c in countries)
        self._server_ssl = _server_ssl(certfile, keyfile, client_ca) if certfile else None
        self._callback_ssl: ssl.SSLContext | bool = callback_ssl or True
        self._callback_attempts = callback_attempts
        self._callback_backoff = callback_backoff
        self._max_bytes = max_document_bytes
        self._trust_dir = trust_dir
        self._signing_keys = {c.upper(): k for c, k in (signing_keys or {}).items()}
        self.signature_refused = 0
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._receipts: dict[tuple[str, str, str], dict[str, str]] = {}
        self._delivered: dict[tuple[str, str], DeliveredCertificate] = {}
        self._decided: dict[tuple[str, str], bytes] = {}  # latest decision, wire form
        self.status_calls = 0
        self.deliveries: Counter[str] = Counter()
        self.clarifications: Counter[str] = Counter()
        self.processed: Counter[str] = Counter()
        self.refused = 0
        self.callbacks_sent = 0
        self.callbacks_failed = 0
        self._serial = 0

    @property
    def url(self) -> str:
        """Base URL of the running server, e.g. ``https://127.0.0.1:8443``."""
        if self._runner is None:
            raise RuntimeError("the sandbox customs is not started")
        scheme = "https" if self._server_ssl else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def country_url(self, country: str) -> str:
        """Base URL of one country's customs, as the connector registry expects it."""
        return f"{self.url}/customs/{country.upper()}"

    async def start(self) -> None:
        """Bind and serve; afterwards ``url`` carries the actual port."""
        app = web.Application(client_max_size=self._max_bytes)
        app.add_routes(
            [
                web.post("/customs/{country}/certificates", self._receive_certificate),
                web.post("/customs/{country}/clarifications", self._receive_clarification),
                web.get("/sandbox/stats", self._stats),
                web.get("/customs/{country}/certificates/{number}/versions/{version}/decision",
                        self._decision),
            ]
        )
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, ssl_context=self._server_ssl)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = int(runner.addresses[0][1])
        self._runner = runner
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        log.info("sandbox_customs_started", url=self.url, countries=list(self.countries))

    async def stop(self) -> None:
        """Cancel pending decisions and close the server."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()
            self._client = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def settled(self) -> None:
        """Return once every decision planned so far has been sent (or has failed for good)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> SandboxCustoms:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def stats(self) -> dict[str, Any]:
        """Counts per idempotency key: received (``deliveries``, ``clarifications``) and
        ``processed`` once; plus 503 refusals and callback outcomes."""
        return {
            "deliveries": dict(self.deliveries),
            "clarifications": dict(self.clarifications),
            "processed": dict(self.processed),
            "refused": self.refused,
            "signature_refused": self.signature_refused,
            "callbacks": {"sent": self.callbacks_sent, "failed": self.callbacks_failed},
            "status_calls": self.status_calls,
        }

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats())

    async def _receive_certificate(self, request: web.Request) -> web.StreamResponse:
        country = request.match_info["country"].upper()
        if country not in self.countries:
            return problem_response(404, "Unknown country", f"no sandbox customs for {country}")
        problems, key, version = _delivery_headers(request)
        callback = request.headers.get("X-Eco-Callback", self.callback_url)
        if not callback:
            problems.append(Problem("headers.X-Eco-Callback", "required (no default callback)"))
        if problems:
            return _bad_request("Invalid delivery", problems)
        application_id = request.headers["X-Eco-Application-Id"]
        scenario = self.scenarios.scenario_for(application_id)
        if scenario == "down":
            self.refused += 1
            return problem_response(503, "Service unavailable", f"{country} customs is down")
        try:
            document = await request.read()
            parse_certificate_xml(document, self._max_bytes)
        except web.HTTPRequestEntityTooLarge:
            return problem_response(413, "Too large", f"the limit is {self._max_bytes} bytes")
        except ValueError as exc:
            return _bad_request("Refused XML", [Problem("body", str(exc))], kind="unsafe-xml")
        self.deliveries[key] += 1
        known = self._receipts.get(("certificates", country, key))
        if known is not None:
            return web.json_response(known, status=202)
        refusal = self._signature_refusal(document)
        if refusal is not None:
            self.signature_refused += 1
            log.info("sandbox_signature_refused", application_id=application_id, key=key,
                     reason=refusal)
            receipt = self._new_receipt(("certificates", country, key), country, refusal)
            return web.json_response(receipt, status=202)
        receipt = self._new_receipt(("certificates", country, key), country)
        self.processed[key] += 1
        delivered = DeliveredCertificate(
            application_id,
            request.headers["X-Eco-Certificate-Number"],
            version,
            country,
            scenario,
            str(callback).rstrip("/"),
        )
        self._delivered[(country, f"{delivered.certificate_number}:{version}")] = delivered
        self._plan(delivered, "delivered")
        log.info("sandbox_certificate_received", application_id=application_id, key=key)
        return web.json_response(receipt, status=202)

    async def _receive_clarification(self, request: web.Request) -> web.StreamResponse:
        country = request.match_info["country"].upper()
        if country not in self.countries:
            return problem_response(404, "Unknown country", f"no sandbox customs for {country}")
        key = request.headers.get("Idempotency-Key", "")
        try:
            body = read_json_bytes(await request.read(), RESPONSE_JSON)
        except InvalidInput:
            body = None
        problems = [] if key else [Problem("headers.Idempotency-Key", "required")]
        if not isinstance(body, dict) or not isinstance(body.get("explanation"), str):
            problems.append(Problem("explanation", "required, a string in a JSON object"))
            body = {}
        if problems:
            return _bad_request("Invalid clarification", problems)
        number, version = body.get("certificate_number"), body.get("version")
        delivered = self._delivered.get((country, f"{number}:{version}"))
        if delivered is None:
            return problem_response(
                404, "Unknown certificate", f"{number} version {version} was not delivered here"
            )
        self.clarifications[key] += 1
        known = self._receipts.get(("clarifications", country, key))
        if known is not None:
            return web.json_response(known, status=202)
        receipt = self._new_receipt(("clarifications", country, key), country)
        self.processed[key] += 1
        self._plan(delivered, "clarified", request.headers.get("X-Eco-Callback"))
        return web.json_response(receipt, status=202)

    def _signature_refusal(self, document: bytes) -> str | None:
        """Why the certificate's signature is not accepted against the trust registry, or None
        (always None without a trust directory)."""
        if self._trust_dir is None:
            return None
        try:
            verify_certificate(document, TrustRegistry.from_dir(self._trust_dir))
        except (EcoError, OSError, ValueError) as exc:
            return f"signature or seal not recognised: {exc}"
        return None

    def _new_receipt(
        self, slot: tuple[str, str, str], country: str, refusal: str | None = None
    ) -> dict[str, str]:
        self._serial += 1
        receipt = {
            "receipt_id": f"{country}-SBX-{self._serial:06d}",
            "status": "ACKNOWLEDGED" if refusal is None else "TECH_REJECTED",
            "message": refusal or "",
        }
        self._receipts[slot] = receipt
        return receipt

    def _plan(
        self, delivered: DeliveredCertificate, stage: Stage, callback: str | None = None
    ) -> None:
        plan = decisions(delivered.scenario, stage)
        if plan:
            target = (callback or delivered.callback).rstrip("/")
            task = asyncio.create_task(self._send_decisions(delivered, plan, target))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _send_decisions(
        self, delivered: DeliveredCertificate, plan: tuple[Decision, ...], callback: str
    ) -> None:
        for decision in plan:
            if decision.delayed:
                await asyncio.sleep(self.delay)
            self._serial += 1
            response = CustomsResponse(
                response_id=f"{delivered.country}-RSP-{self._serial:06d}",
                application_id=delivered.application_id,
                certificate_number=delivered.certificate_number,
                version=delivered.version,
                importing_country=delivered.country,
                status=decision.status,
                box4_reasons=decision.box4_reasons,
                message=decision.message,
                responded_at=datetime.now(UTC),
            )
            url = f"{callback}/v1/customs/{delivered.country}/responses"
            raw = json.dumps(response_to_json(response)).encode()
            if response.status != "ACKNOWLEDGED":
                slot = (delivered.country, f"{delivered.certificate_number}:{delivered.version}")
                self._decided[slot] = raw
            if await self._post_callback(url, delivered.country, raw):
                self.callbacks_sent += 1
            else:
                self.callbacks_failed += 1

    async def _decision(self, request: web.Request) -> web.Response:
        """The status call: 200 with the latest decision (signed), 204 none yet, 404 unknown."""
        country = request.match_info["country"].upper()
        number, version = request.match_info["number"], request.match_info["version"]
        self.status_calls += 1
        slot = (country, f"{number}:{version}")
        raw = self._decided.get(slot)
        if raw is not None:
            return web.Response(body=raw, content_type="application/json",
                                headers=self._signed(raw, country))
        if slot in self._delivered:
            return web.Response(status=204)
        return problem_response(404, "Unknown certificate",
                                f"{number} version {version} was not delivered to {country}")

    def _signed(self, raw: bytes, country: str) -> dict[str, str]:
        key = self._signing_keys.get(country)
        return {SIGNATURE_HEADER: sign_response(raw, key, country)} if key is not None else {}

    async def _post_callback(self, url: str, country: str, raw: bytes) -> bool:
        """POST (signed by the country's customs key, when the sandbox has one) with retries and
        doubling back-off while the callback is unreachable or 5xx."""
        assert self._client is not None
        headers = {"Content-Type": "application/json", **self._signed(raw, country)}
        backoff = self._callback_backoff
        for attempt in range(1, self._callback_attempts + 1):
            try:
                async with self._client.post(
                    url, data=raw, headers=headers, ssl=self._callback_ssl
                ) as resp:
                    if resp.status < 500:
                        ok = 200 <= resp.status < 300
                        if not ok:
                            log.warning("sandbox_callback_refused", url=url, status=resp.status)
                        return ok
                    reason = f"HTTP {resp.status}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                reason = str(exc) or type(exc).__name__
            log.info("sandbox_callback_retry", url=url, attempt=attempt, reason=reason)
            if attempt < self._callback_attempts:
                await asyncio.sleep(backoff)
                # A customs keeps trying for about a minute: long enough to outlast a
                # restart of the pipeline's worker.
                backoff = min(backoff * 2, CALLBACK_BACKOFF_CAP)
        return False


def _delivery_headers(request: web.Request) -> tuple[list[Problem], str, int]:
    """The delivery headers of the reference connector, with a problem per missing one."""
    problems: list[Problem] = []
    for name in ("Idempotency-Key", "X-Eco-Application-Id", "X-Eco-Certificate-Number"):
        if not request.headers.get(name, "").strip():
            problems.append(Problem(f"headers.{name}", "required"))
    raw_version = request.headers.get("X-Eco-Certificate-Version", "")
    version = int(raw_version) if raw_version.isdigit() else 0
    if version < 1:
        problems.append(Problem("headers.X-Eco-Certificate-Version", "required, a number from 1"))
    return problems, request.headers.get("Idempotency-Key", ""), version


def _bad_request(
    title: str, problems: list[Problem], kind: str = "invalid-delivery"
) -> web.Response:
    detail = "; ".join(str(p) for p in problems)
    return problem_response(400, title, detail, kind=kind, errors=problems)


def _server_ssl(certfile: Path, keyfile: Path | None, client_ca: Path | None) -> ssl.SSLContext:
    """Server TLS; with ``client_ca`` every client must present a certificate it signed."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certfile), str(keyfile) if keyfile else None)
    if client_ca is not None:
        context.load_verify_locations(cafile=str(client_ca))
        context.verify_mode = ssl.CERT_REQUIRED
    return context
