"""Serial allocation for a batch of certificates: one durable write per office and year.

Issuance takes the certificates of a batch together. Their serials are allocated in one
:class:`SerialBlock` per office and year, which is written and made durable before any
certificate of the batch is recorded or published (Form E Rule 8(c): a number is never used
twice, and none is skipped). A block remembers, for each holder (the application id, or an
officer's request id) whose certificate may not be recorded yet, the serial it holds: a
replay after a crash gets the same serial back, whatever the size of the batches it is
replayed in. A holder whose request then fails for good releases its serial, and the next
new holder takes it. A holder leaves the block once its certificate is recorded durably.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SerialBlock:
    """The last serial an office allocated in a year, the serials held for certificates not
    known to be recorded (holder -> (serial, application id)), and serials freed again."""

    last: int = 0
    held: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    free: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.last < 0:
            raise ValueError(f"serial {self.last} must not be negative")

    def serial_for(self, holder: str, application_id: str) -> tuple[int, SerialBlock]:
        """The serial of ``holder``: the one it holds, else a freed one, else the next."""
        if not holder or not application_id:
            raise ValueError("an allocation needs its holder and application id")
        if holder in self.held:
            return self.held[holder][0], self
        if self.free:
            serial = min(self.free)
            rest = tuple(s for s in self.free if s != serial)
            return serial, SerialBlock(self.last, {**self.held, holder: (serial, application_id)},
                                       rest)
        serial = self.last + 1
        return serial, SerialBlock(serial, {**self.held, holder: (serial, application_id)},
                                   self.free)

    def release(self, holder: str) -> SerialBlock:
        """``holder``'s request failed for good: its serial goes to the next new holder."""
        if holder not in self.held:
            return self
        serial = self.held[holder][0]
        held = {h: v for h, v in self.held.items() if h != holder}
        return SerialBlock(self.last, held, tuple(sorted({*self.free, serial})))

    def forget_recorded(self, recorded: Callable[[str, str], bool]) -> SerialBlock:
        """The block without the holders whose certificate is recorded durably."""
        held = {h: v for h, v in self.held.items() if not recorded(h, v[1])}
        if len(held) == len(self.held):
            return self
        return SerialBlock(self.last, held, self.free)

    def to_json(self) -> dict[str, Any]:
        return {"last": self.last, "held": {h: [s, a] for h, (s, a) in self.held.items()},
                "free": list(self.free)}

    @classmethod
    def from_json(cls, stored: object) -> SerialBlock:
        """Read a stored block; the single allocation of earlier versions (``serial``,
        ``holder``, ``application_id``) or a bare count are read as blocks too."""
        if stored is None or stored == {}:
            return cls()
        if isinstance(stored, Mapping) and "last" in stored:
            held = {str(h): (int(v[0]), str(v[1])) for h, v in dict(stored["held"]).items()}
            return cls(int(stored["last"]), held, tuple(int(s) for s in stored.get("free", ())))
        if isinstance(stored, Mapping):
            serial, holder = int(stored.get("serial", 0)), str(stored.get("holder", ""))
            app = str(stored.get("application_id", ""))
            return cls(serial, {holder: (serial, app)} if holder and app else {})
        if isinstance(stored, int) and not isinstance(stored, bool):
            return cls(stored)
        raise ValueError(f"not a serial block: {stored!r}")
