"""``POST /v1/customs/{country}/responses``: where importing customs deliver their responses.

A plain aiohttp handler, built by ``response_routes`` around its collaborators (no global
state), so the Faust worker can mount it on its web server. The response is parsed, the
country's status code mapped to ours, and handed to the sink (the producer of
``eco.customs-response``). Authentication of the customs and the checking of response
signatures plug in through ``authenticate``; until they exist every caller is accepted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from connectors.customs.problem import problem_response
from connectors.customs.registry import CountryRegistry
from connectors.customs.responses import CustomsResponse, parse_response
from pipeline.errors import InvalidInput, Problem, RetryableError
from pipeline.jsonlimits import RESPONSE_JSON, read_json_bytes

RESPONSES_PATH = "/v1/customs/{country}/responses"

ResponseSink = Callable[[CustomsResponse], Awaitable[None]]
# (country, request, raw body) -> may this caller speak for that country's customs?
CustomsAuthenticator = Callable[[str, web.Request, bytes], Awaitable[bool]]

log = structlog.get_logger(__name__)


async def accept_unauthenticated(country: str, request: web.Request, body: bytes) -> bool:
    """The authenticator until customs authentication exists: accepts every caller."""
    return True


def response_routes(
    sink: ResponseSink,
    registry: CountryRegistry | None = None,
    *,
    authenticate: CustomsAuthenticator = accept_unauthenticated,
) -> list[web.RouteDef]:
    """The route of the response receiver; add it with ``app.add_routes(...)``."""
    countries = registry if registry is not None else CountryRegistry.of()

    async def receive_customs_response(request: web.Request) -> web.StreamResponse:
        country = request.match_info["country"].upper()
        if not countries.knows(country):
            return problem_response(
                404, "Unknown country", f"{country!r} is not an importing country we know"
            )
        body = await request.read()
        if not await authenticate(country, request, body):
            return problem_response(
                401, "Unauthenticated", f"the caller may not speak for {country} customs"
            )
        if request.content_type != "application/json" and not request.content_type.endswith(
            "+json"
        ):
            return problem_response(
                415, "Unsupported media type", "send the response as application/json"
            )
        try:
            response = parse_response(  # bounded JSON (pipeline/jsonlimits.py)
                country, read_json_bytes(body, RESPONSE_JSON, source=f"{country} response"),
                lambda code: countries.map_status(country, code)
            )
        except ValueError as exc:  # not JSON (json.JSONDecodeError, UnicodeDecodeError)
            return _invalid(country, [Problem("", f"the body is not JSON: {exc}")])
        except InvalidInput as exc:
            return _invalid(country, exc.problems)
        try:
            await sink(response)
        except RetryableError as exc:
            log.warning("customs_response_deferred", country=country, reason=str(exc))
            return problem_response(
                503,
                "Try again later",
                "the response could not be recorded yet; send it again",
                headers={"Retry-After": "5"},
            )
        except InvalidInput as exc:
            return _invalid(country, exc.problems)
        log.info(
            "customs_response_received",
            country=country,
            application_id=response.application_id,
            response_id=response.response_id,
            status=response.status,
        )
        return web.json_response(
            {
                "response_id": response.response_id,
                "application_id": response.application_id,
                "status": response.status,
            },
            status=202,
        )

    return [web.post(RESPONSES_PATH, receive_customs_response)]


def _invalid(country: str, problems: tuple[Problem, ...] | list[Problem]) -> web.Response:
    log.info("customs_response_invalid", country=country, problems=[str(p) for p in problems])
    return problem_response(
        400,
        "Invalid customs response",
        f"the response of {country} customs breaks the wire format: "
        + "; ".join(str(p) for p in problems),
        kind="invalid-customs-response",
        errors=problems,
    )
