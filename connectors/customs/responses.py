"""Responses of an importing customs, and their JSON wire format.

The customs (or the connector speaking for it) posts one JSON object per response::

    {"response_id": "VN-R-0001", "application_id": "demo-02-kettle-th",
     "certificate_number": "E26...", "version": 1, "status": "PREFERENCE_NOT_GIVEN",
     "box4_reasons": [{"code": "RVC", "text": "...", "item_no": 1}],
     "message": "", "responded_at": "2026-05-12T08:30:00+07:00"}

``status`` is one of ours or a code of that country, mapped by the country registry.
Box 4 is the importing customs' "For Official Use" box (Form E Rule 8): a "not given"
marking must state its reasons, so PREFERENCE_NOT_GIVEN requires at least one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast, get_args

from pipeline.errors import InvalidInput, Problem

ResponseStatus = Literal[
    "ACKNOWLEDGED",
    "TECH_REJECTED",
    "PREFERENCE_GIVEN",
    "PREFERENCE_NOT_GIVEN",
    "VERIFICATION_REQUESTED",
    "FEEDBACK",
]
RESPONSE_STATUSES: tuple[str, ...] = get_args(ResponseStatus)


@dataclass(frozen=True)
class Box4Reason:
    """One reason the importing customs gave for "preferential treatment not given" (Box 4)."""

    code: str
    text: str
    item_no: int | None = None


@dataclass(frozen=True)
class CustomsResponse:
    """One message from an importing customs about one certificate version."""

    response_id: str
    application_id: str
    certificate_number: str
    version: int
    importing_country: str
    status: ResponseStatus
    box4_reasons: tuple[Box4Reason, ...]
    message: str
    responded_at: datetime


def parse_response(
    country: str,
    body: Any,
    map_status: Callable[[str], str] | None = None,
) -> CustomsResponse:
    """Read a response of ``country``'s customs; ``map_status`` turns that country's status code
    into ours (default: ours only). Raises InvalidInput listing every fault by path."""
    source = f"{country.upper()} customs response"
    if not isinstance(body, Mapping):
        raise InvalidInput([Problem("", "a response must be a JSON object")], source)
    problems: list[Problem] = []

    def text(name: str, *, required: bool = True) -> str:
        value = body.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            problems.append(Problem(name, "required, a non-empty string"))
            return ""
        return value

    response_id = text("response_id")
    application_id = text("application_id")
    certificate_number = text("certificate_number")
    message = text("message", required=False)
    version = _version(body.get("version"), problems)
    status = _status(body.get("status"), map_status, problems)
    reasons = _box4_reasons(body.get("box4_reasons"), problems)
    responded_at = _timestamp(body.get("responded_at"), problems)
    declared = body.get("importing_country")
    mismatch = not isinstance(declared, str) or declared.upper() != country.upper()
    if declared is not None and mismatch:
        problems.append(Problem("importing_country", f"must be {country.upper()}, as in the URL"))
    if status == "PREFERENCE_NOT_GIVEN" and not body.get("box4_reasons"):
        problems.append(Problem("box4_reasons", 'Box 4 "not given" must state its reasons'))
    if status not in ("PREFERENCE_NOT_GIVEN", None) and body.get("box4_reasons"):
        problems.append(Problem("box4_reasons", "only PREFERENCE_NOT_GIVEN carries reasons"))
    if problems or status is None or responded_at is None or version is None:
        raise InvalidInput(problems, source)
    return CustomsResponse(
        response_id=response_id,
        application_id=application_id,
        certificate_number=certificate_number,
        version=version,
        importing_country=country.upper(),
        status=status,
        box4_reasons=reasons,
        message=message,
        responded_at=responded_at,
    )


def response_to_json(response: CustomsResponse) -> dict[str, Any]:
    """The wire form read by ``parse_response``."""
    return {
        "response_id": response.response_id,
        "application_id": response.application_id,
        "certificate_number": response.certificate_number,
        "version": response.version,
        "importing_country": response.importing_country,
        "status": response.status,
        "box4_reasons": [
            {"code": r.code, "text": r.text, "item_no": r.item_no} for r in response.box4_reasons
        ],
        "message": response.message,
        "responded_at": response.responded_at.isoformat(),
    }


def _version(value: Any, problems: list[Problem]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.append(Problem("version", "required, a whole number from 1"))
        return None
    return value


def _status(
    value: Any, map_status: Callable[[str], str] | None, problems: list[Problem]
) -> ResponseStatus | None:
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem("status", "required, a non-empty string"))
        return None
    try:
        ours = map_status(value) if map_status is not None else value
    except InvalidInput as exc:
        problems.extend(exc.problems)
        return None
    if ours in RESPONSE_STATUSES:
        return cast(ResponseStatus, ours)
    problems.append(Problem("status", f"unknown status {value!r}"))
    return None


def _box4_reasons(value: Any, problems: list[Problem]) -> tuple[Box4Reason, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(Problem("box4_reasons", "must be a list"))
        return ()
    reasons: list[Box4Reason] = []
    for i, entry in enumerate(value):
        path = f"box4_reasons[{i}]"
        if not isinstance(entry, Mapping):
            problems.append(Problem(path, "must be an object {code, text, item_no?}"))
            continue
        code, text, item_no = entry.get("code"), entry.get("text"), entry.get("item_no")
        ok = True
        if not isinstance(code, str) or not code.strip():
            problems.append(Problem(f"{path}.code", "required, a non-empty string"))
            ok = False
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(f"{path}.text", "required, a non-empty string"))
            ok = False
        if item_no is not None and (
            isinstance(item_no, bool) or not isinstance(item_no, int) or item_no < 1
        ):
            problems.append(Problem(f"{path}.item_no", "must be a whole number from 1"))
            ok = False
        if ok:
            reasons.append(Box4Reason(str(code), str(text), item_no))
    return tuple(reasons)


def _timestamp(value: Any, problems: list[Problem]) -> datetime | None:
    if not isinstance(value, str):
        problems.append(Problem("responded_at", "required, an ISO 8601 date-time with offset"))
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        problems.append(Problem("responded_at", f"{value!r} is not an ISO 8601 date-time"))
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        problems.append(Problem("responded_at", "must carry a UTC offset (Z or +07:00, say)"))
        return None
    return moment
