"""Events as Kafka records: CloudEvents 1.0, Kafka protocol binding, binary content mode.

The attributes travel as ``ce_``-prefixed headers, the data as the record value (Avro
single-object encoding) and the subject (the application id) as the record key. Trace
context follows W3C Trace Context (``traceparent`` header).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from pipeline.errors import InvalidInput, Problem, UndecodableEvent
from pipeline.events.codec import HEADER_LENGTH, MARKER, decode, encode
from pipeline.events.schemas import (
    EVENT_TYPES,
    dataschema_for_fingerprint,
    fingerprint_of_dataschema,
)

SPECVERSION = "1.0"
CONTENT_TYPE = "application/avro"

REQUIRED_HEADERS = (
    "ce_specversion",
    "ce_id",
    "ce_type",
    "ce_source",
    "ce_time",
    "ce_subject",
    "ce_dataschema",
    "content-type",
)
"""Headers every event record carries; ``traceparent`` is also written but optional to read."""

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


@dataclass(frozen=True)
class Envelope:
    """One event: its CloudEvents attributes and its data (decoded, as the Avro schema says)."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    data: dict[str, Any]
    traceparent: str | None = None


def new_envelope(
    ce_type: str,
    data: Mapping[str, Any],
    *,
    source: str,
    subject: str,
    id: str | None = None,
    time: datetime | None = None,
    traceparent: str | None = None,
) -> Envelope:
    """A new event with a fresh UUID, the current UTC time and a fresh trace unless given."""
    problems: list[Problem] = []
    if ce_type not in EVENT_TYPES:
        problems.append(Problem("type", f"unknown event type {ce_type!r}"))
    if not source:
        problems.append(Problem("source", "empty"))
    if not subject:
        problems.append(Problem("subject", "empty"))
    if time is not None and time.utcoffset() is None:
        problems.append(Problem("time", "must be timezone-aware"))
    if traceparent is not None and not is_valid_traceparent(traceparent):
        problems.append(Problem("traceparent", f"{traceparent!r} is not a W3C traceparent"))
    if problems:
        raise InvalidInput(problems, source="event envelope")
    return Envelope(
        id=id or str(uuid.uuid4()),
        type=ce_type,
        source=source,
        subject=subject,
        time=(time or datetime.now(UTC)).astimezone(UTC),
        data=dict(data),
        traceparent=traceparent if traceparent is not None else new_traceparent(),
    )


def to_record(env: Envelope) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """The Kafka key, value and headers of an event; InvalidInput if its data does not fit."""
    value = encode(env.type, env.data)
    headers = [
        ("ce_specversion", SPECVERSION),
        ("ce_id", env.id),
        ("ce_type", env.type),
        ("ce_source", env.source),
        ("ce_time", format_time(env.time)),
        ("ce_subject", env.subject),
        ("ce_dataschema", dataschema_for_fingerprint(value[len(MARKER) : HEADER_LENGTH])),
        ("content-type", CONTENT_TYPE),
    ]
    if env.traceparent is not None:
        headers.append(("traceparent", env.traceparent))
    return (
        env.subject.encode("utf-8"),
        value,
        [(name, text.encode("utf-8")) for name, text in headers],
    )


def from_record(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes | None]]
) -> Envelope:
    """The event a Kafka record carries; UndecodableEvent naming the header or part at fault.

    An invalid ``traceparent`` is dropped rather than refused (W3C Trace Context: a receiver
    that cannot parse it starts a new trace).
    """
    attributes = _header_texts(headers)
    for name in REQUIRED_HEADERS:
        if name not in attributes:
            raise UndecodableEvent(f"header {name} is missing")
    if attributes["ce_specversion"] != SPECVERSION:
        raise UndecodableEvent(
            f"header ce_specversion is {attributes['ce_specversion']!r}, expected {SPECVERSION!r}"
        )
    media_type = attributes["content-type"].split(";", 1)[0].strip().lower()
    if media_type != CONTENT_TYPE:
        raise UndecodableEvent(f"header content-type is {media_type!r}, expected {CONTENT_TYPE}")
    for name in ("ce_id", "ce_source", "ce_subject"):
        if not attributes[name]:
            raise UndecodableEvent(f"header {name} is empty")
    ce_type = attributes["ce_type"]
    if ce_type not in EVENT_TYPES:
        raise UndecodableEvent(f"header ce_type {ce_type!r} is not a known event type")
    time = _parse_header_time(attributes["ce_time"])
    try:
        declared = fingerprint_of_dataschema(attributes["ce_dataschema"])
    except ValueError as error:
        raise UndecodableEvent(f"header ce_dataschema: {error}") from error
    subject = attributes["ce_subject"]
    if key is not None and key != subject.encode("utf-8"):
        raise UndecodableEvent(f"record key {key!r} differs from header ce_subject {subject!r}")
    if value is None:
        raise UndecodableEvent("record has no value")
    if value[len(MARKER) : HEADER_LENGTH] != declared:
        raise UndecodableEvent("value's schema fingerprint differs from header ce_dataschema")
    _, data = decode(value, ce_type)
    traceparent = attributes.get("traceparent")
    return Envelope(
        id=attributes["ce_id"],
        type=ce_type,
        source=attributes["ce_source"],
        subject=subject,
        time=time,
        data=data,
        traceparent=traceparent if traceparent and is_valid_traceparent(traceparent) else None,
    )


def _header_texts(headers: Sequence[tuple[str, bytes | None]]) -> dict[str, str]:
    counts = Counter(name for name, _ in headers)
    texts: dict[str, str] = {}
    for name, raw in headers:
        if name not in REQUIRED_HEADERS and name != "traceparent":
            continue  # extensions and other producers' headers are none of our business
        if counts[name] > 1:
            raise UndecodableEvent(f"header {name} appears {counts[name]} times")
        if raw is None:
            raise UndecodableEvent(f"header {name} has no value")
        try:
            texts[name] = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise UndecodableEvent(f"header {name} is not UTF-8") from error
    return texts


def _parse_header_time(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError as error:
        raise UndecodableEvent(f"header ce_time: {error}") from error


def format_time(moment: datetime) -> str:
    """An instant as RFC 3339 in UTC with a ``Z``, e.g. ``2026-05-02T08:30:00.250000Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An RFC 3339 date-time (any fraction of a second, truncated to microseconds) in UTC."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 date-time")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    offset = timedelta(0)
    if not zulu:
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        local = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micros,
            tzinfo=timezone(offset),
        )
    except ValueError as error:
        raise ValueError(f"{text!r} is not a valid date-time: {error}") from error
    return local.astimezone(UTC)


def is_valid_traceparent(text: str) -> bool:
    """True for a W3C Trace Context ``traceparent`` this version can continue."""
    match = _TRACEPARENT.fullmatch(text)
    if match is None:
        return False
    version, trace_id, parent_id, _, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return False
    return trace_id != "0" * 32 and parent_id != "0" * 16


def new_traceparent() -> str:
    """A fresh sampled trace: ``00-<trace id>-<parent id>-01`` (W3C Trace Context)."""
    return f"00-{_random_hex(16)}-{_random_hex(8)}-01"


def continue_trace(traceparent: str | None) -> str:
    """The ``traceparent`` of an event caused by one carrying ``traceparent``: same trace,
    new parent id; a fresh trace when there is none or it is invalid."""
    if traceparent is None or not is_valid_traceparent(traceparent):
        return new_traceparent()
    _, trace_id, _, flags = traceparent.split("-")[:4]
    return f"00-{trace_id}-{_random_hex(8)}-{flags}"


def _random_hex(size: int) -> str:
    while True:
        text = secrets.token_hex(size)
        if text.strip("0"):  # all zeros is the invalid id
            return text
