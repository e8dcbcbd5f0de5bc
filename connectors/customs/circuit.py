"""A circuit breaker per importing customs, as plain values: the stage keeps one per country and
replaces it after each call.

Closed, it lets every call through and counts consecutive failures; at ``threshold`` failures
it opens and refuses calls for ``reset_after`` seconds, then lets one probe through (half-open):
a success closes it, a failure keeps it open for another ``reset_after``. ``open_for`` says how
long it has been open, which decides when waiting certificates go to the manual channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any


@dataclass(frozen=True)
class CircuitBreaker:
    """The circuit of one country's customs endpoint; times are seconds on one clock."""

    threshold: int = 5
    reset_after: float = 30.0
    failures: int = 0
    open_since: float | None = None
    retry_at: float = 0.0

    @property
    def is_open(self) -> bool:
        """True from the failure that opened it until a probe succeeds."""
        return self.open_since is not None

    def allows(self, now: float) -> bool:
        """May a call go out now? Always when closed; once ``reset_after`` passed when open."""
        return self.open_since is None or now >= self.retry_at

    def failed(self, now: float) -> CircuitBreaker:
        """After a call that failed for want of an answer (timeout, 5xx, no connection)."""
        failures = self.failures + 1
        if self.open_since is None and failures < max(self.threshold, 1):
            return replace(self, failures=failures)
        opened = self.open_since if self.open_since is not None else now
        return replace(self, failures=failures, open_since=opened, retry_at=now + self.reset_after)

    def succeeded(self) -> CircuitBreaker:
        """After a call the customs answered: the circuit closes and the count starts again."""
        return replace(self, failures=0, open_since=None, retry_at=0.0)

    def open_for(self, now: float) -> float:
        """Seconds the circuit has been open (0 when closed)."""
        return 0.0 if self.open_since is None else max(now - self.open_since, 0.0)

    def to_json(self) -> dict[str, Any]:
        """The circuit as the plain JSON kept in the stage's durable circuit table."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CircuitBreaker:
        """A circuit read back from ``to_json``'s form."""
        open_since = data.get("open_since")
        return cls(int(data.get("threshold", 5)), float(data.get("reset_after", 30.0)),
                   int(data.get("failures", 0)),
                   None if open_since is None else float(open_since),
                   float(data.get("retry_at", 0.0)))
