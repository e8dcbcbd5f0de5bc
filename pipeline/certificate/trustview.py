"""The trust registry as a worker sees it: the authorities' certificates in the trust
directory, with every notification (``eco.trust.updated.v1``) that the trust stage accepted
applied in order. A change takes effect without a restart: the registry is rebuilt when the
notifications or the files change, and only then.

The notifications come as a mapping of country to the list of its notifications in order
(plain JSON, :meth:`TrustNotification.to_json`); the workers pass their Faust global table,
the tests a dict.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.certificate.notification import Replayed, TrustNotification, replay
from pipeline.certificate.trust import IssuingAuthority, TrustRegistry
from pipeline.errors import InvalidInput

Notifications = Mapping[str, Sequence[Mapping[str, Any]]]
OnChange = Callable[[Replayed], None]


class TrustView:
    """``current()`` is the registry of the files plus the notifications, rebuilt on change.
    The notifications are looked at on every call; the files (a directory listing and a
    ``stat`` of each) at most every ``files_every`` seconds of ``clock``: the issuer asks for
    the registry once per certificate, and a file an operator replaced takes effect within
    that time."""

    def __init__(self, directory: Path, notifications: Notifications,
                 on_change: OnChange | None = None, files_every: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.directory = directory
        self.notifications = notifications
        self.on_change = on_change
        self.files_every = files_every
        self.clock = clock
        self._state: tuple[Any, ...] | None = None
        self._files: tuple[tuple[str, int, int], ...] | None = None
        self._files_seen = float("-inf")
        self._replayed = Replayed(TrustRegistry())
        self.rebuilds = 0

    def current(self) -> TrustRegistry:
        """The registry now. Raises ValueError for a trust file that is not PEM."""
        now = self.clock()
        if self._state is None or now - self._files_seen >= self.files_every:
            self._files, self._files_seen = _files_state(self.directory), now
        state = (self._files, self._notifications_state())
        if state != self._state:
            self._replayed = self._build()
            self._state = state
            self.rebuilds += 1
            if self.on_change is not None:
                self.on_change(self._replayed)
        return self._replayed.registry

    @property
    def skipped(self) -> tuple[tuple[str, str], ...]:
        """Notifications the last rebuild could not apply: (event id, reason)."""
        return self._replayed.skipped

    def _notifications_state(self) -> tuple[tuple[str, int, str], ...]:
        # Lists only grow (the trust stage appends), so length and last id tell a change.
        return tuple(sorted(
            (country, len(held), str(held[-1].get("id")) if held else "")
            for country, held in self.notifications.items()
        ))

    def _build(self) -> Replayed:
        files = (TrustRegistry.from_dir(self.directory) if self.directory.is_dir()
                 else TrustRegistry())
        ordered: list[TrustNotification] = []
        unreadable: list[tuple[str, str]] = []
        for _, held in sorted(self.notifications.items()):
            for value in held:
                try:
                    ordered.append(TrustNotification.from_json(value))
                except InvalidInput as exc:
                    unreadable.append((str(value.get("id")), str(exc)))
        replayed = replay(files, ordered)
        return Replayed(replayed.registry, (*unreadable, *replayed.skipped))


def _files_state(directory: Path) -> tuple[tuple[str, int, int], ...] | None:
    if not directory.is_dir():
        return None
    return tuple(
        (path.name, stat.st_mtime_ns, stat.st_size)
        for path in sorted(directory.glob("*.pem"))
        for stat in (path.stat(),)
    )


def in_force_by_country(registry: TrustRegistry, at: datetime) -> dict[str, int]:
    """How many authorities each country of the registry has in force at ``at`` (0 for a
    country whose authorities were all withdrawn)."""
    counts = dict.fromkeys(registry.countries, 0)
    for authority in registry.in_force_at(at):
        counts[authority.country] += 1
    return counts


def describe(registry: TrustRegistry, at: datetime, flag: str = "in_force_now"
             ) -> list[dict[str, Any]]:
    """One JSON object per registry entry, by country and then from oldest: the authority,
    its certificate's fingerprint and validity, its period in force, and whether it is in
    force at ``at`` (under the key ``flag``)."""
    rows = [_row(authority, at, flag) for authority in registry.authorities]
    return sorted(rows, key=lambda r: (r["country"], r["in_force_from"] or "", r["name"]))


def _row(authority: IssuingAuthority, at: datetime, flag: str) -> dict[str, Any]:
    certificate = authority.certificate
    return {
        "country": authority.country,
        "name": authority.name,
        "address": authority.address,
        "fingerprint": authority.fingerprint,
        "subject": certificate.subject.rfc4514_string(),
        "in_force_from": _iso(authority.in_force_from),
        "in_force_until": _iso(authority.in_force_until),
        "certificate_valid_from": certificate.not_valid_before_utc.isoformat(),
        "certificate_valid_until": certificate.not_valid_after_utc.isoformat(),
        flag: authority.in_force_at(at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
