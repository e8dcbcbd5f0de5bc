"""Dead letters as data: reading them, selecting them, and the records that replay them.

A stage dead-letters a message by copying it, key, value and headers untouched, to
``eco.deadletter`` with ``eco_dlq_*`` headers saying why (``agents/frame.py``). A replay
re-drives the original record to its original topic with its original headers, so its
CloudEvents id (``ce_id``) is the same and every stage that already processed it skips it;
only the stage that failed processes it again. Each replay adds ``eco_replay_*`` headers to
the replayed record and is recorded on ``eco.deadletter-replays`` (JSON, keyed like the
original), which is also how a second ``replay`` knows what was re-driven already.

Plain data and pure functions; ``pipeline/cli/deadletter.py`` does the Kafka I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DEADLETTER_TOPIC = "eco.deadletter"
REPLAY_TOPIC = "eco.deadletter-replays"
DLQ_PREFIX = "eco_dlq_"
REPLAY_PREFIX = "eco_replay_"
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

Headers = Sequence[tuple[str, bytes]]


@dataclass(frozen=True)
class DeadLetter:
    """One record of ``eco.deadletter``: where it sits there, why it is there, and the
    original record (key, value, headers without the dead-letter ones)."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    stage: str
    reason: str
    error: str
    topic: str
    source_partition: int | None
    source_offset: int | None
    attempts: int
    time: datetime | None

    @property
    def ref(self) -> str:
        """How to name it on the command line: ``PARTITION:OFFSET`` of ``eco.deadletter``."""
        return f"{self.partition}:{self.offset}"

    @property
    def original_headers(self) -> tuple[tuple[str, bytes], ...]:
        return tuple((k, v) for k, v in self.headers
                     if not k.startswith(DLQ_PREFIX) and not k.startswith(REPLAY_PREFIX))

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", errors="replace")
        return None

    @property
    def event_id(self) -> str | None:
        """The original CloudEvents id, if the record had one."""
        return self.header("ce_id")


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_dead_letter(partition: int, offset: int, key: bytes | None, value: bytes | None,
                     headers: Iterable[tuple[str, bytes | None]],
                     timestamp_ms: int | None = None) -> DeadLetter:
    """A DeadLetter from a raw record of ``eco.deadletter``; missing headers read as empty
    (an old or foreign record is still listed, never refused)."""
    pairs = tuple((str(k), v or b"") for k, v in headers)
    texts = {k: v.decode("utf-8", errors="replace") for k, v in pairs}
    when = _moment(texts.get("eco_dlq_time"))
    if when is None and timestamp_ms is not None:
        when = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    return DeadLetter(
        partition=partition, offset=offset, key=key, value=value, headers=pairs,
        stage=texts.get("eco_dlq_stage", ""), reason=texts.get("eco_dlq_reason", ""),
        error=texts.get("eco_dlq_error", ""), topic=texts.get("eco_dlq_topic", ""),
        source_partition=_int(texts.get("eco_dlq_partition")),
        source_offset=_int(texts.get("eco_dlq_offset")),
        attempts=_int(texts.get("eco_dlq_attempts")) or 0, time=when)


def parse_moment(text: str, now: datetime) -> datetime:
    """``2026-05-20``, ``2026-05-20T08:00:00Z`` or a time ago (``30m``, ``2h``, ``7d``);
    ValueError says what is wrong."""
    relative = _RELATIVE.match(text.strip().lower())
    if relative:
        return now - timedelta(seconds=float(relative.group(1)) * _UNITS[relative.group(2)])
    moment = _moment(text.strip())
    if moment is None:
        raise ValueError(f"{text!r} is neither a date-time (2026-05-20T08:00:00Z) nor a time "
                         "ago (30m, 2h, 7d)")
    return moment


@dataclass(frozen=True)
class Selection:
    """Which dead letters: every given criterion must hold (``reason`` is a case-insensitive
    substring of the reason or the error class)."""

    stage: str | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    refs: frozenset[str] = frozenset()

    def matches(self, letter: DeadLetter) -> bool:
        if self.refs and letter.ref not in self.refs and letter.event_id not in self.refs:
            return False
        if self.stage and letter.stage != self.stage:
            return False
        if self.reason:
            needle = self.reason.lower()
            if needle not in letter.reason.lower() and needle not in letter.error.lower():
                return False
        if self.since and (letter.time is None or letter.time < self.since):
            return False
        return not (self.until and (letter.time is None or letter.time >= self.until))


def select(letters: Iterable[DeadLetter], selection: Selection) -> list[DeadLetter]:
    return [letter for letter in letters if selection.matches(letter)]


def summary(letter: DeadLetter) -> dict[str, Any]:
    """The JSON line ``eco deadletter list --json`` prints for one dead letter."""
    return {
        "ref": letter.ref, "stage": letter.stage, "error": letter.error,
        "reason": letter.reason, "topic": letter.topic,
        "source_partition": letter.source_partition, "source_offset": letter.source_offset,
        "attempts": letter.attempts, "time": letter.time.isoformat() if letter.time else None,
        "ce_id": letter.event_id, "ce_type": letter.header("ce_type"),
        "key": letter.key.decode("utf-8", errors="replace") if letter.key else None,
    }


@dataclass(frozen=True)
class Replay:
    """One re-drive of a dead letter: the record to send and the record that says so."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    record: bytes  # JSON, for REPLAY_TOPIC

    @property
    def record_headers(self) -> list[tuple[str, bytes]]:
        return [("content-type", b"application/json")]


def replay_of(letter: DeadLetter, replay_id: str, at: datetime, by: str) -> Replay:
    """The replay of ``letter``: its original record, original headers (so the same ce_id),
    plus ``eco_replay_id``, ``eco_replay_of`` and ``eco_replay_time``. ValueError if the dead
    letter does not say which topic it came from."""
    if not letter.topic:
        raise ValueError(f"dead letter {letter.ref} does not name its original topic")
    stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    headers = (*letter.original_headers,
               ("eco_replay_id", replay_id.encode()),
               ("eco_replay_of", f"{DEADLETTER_TOPIC}:{letter.ref}".encode()),
               ("eco_replay_time", stamp.encode()))
    record = json.dumps({
        "replay_id": replay_id, "deadletter": letter.ref, "topic": letter.topic,
        "stage": letter.stage, "reason": letter.reason, "ce_id": letter.event_id,
        "replayed_at": stamp, "replayed_by": by,
    }, sort_keys=True).encode()
    return Replay(letter.topic, letter.key, letter.value, headers, record)


def replayed_refs(records: Iterable[bytes | None]) -> Mapping[str, int]:
    """How many times each dead letter (by ref) was replayed, from ``REPLAY_TOPIC`` values."""
    counts: dict[str, int] = {}
    for raw in records:
        try:
            ref = json.loads(raw or b"")["deadletter"]
        except (ValueError, KeyError, TypeError):
            continue
        counts[str(ref)] = counts.get(str(ref), 0) + 1
    return counts
