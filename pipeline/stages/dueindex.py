"""Deadlines indexed by due time: the exceptions stage's timer looks only at the applications
whose next deadline has passed, never through every table entry on the event loop."""

from __future__ import annotations

import heapq


class DueIndex:
    """The next due time of each key; ``due(now)`` lists the keys due, earliest first."""

    def __init__(self) -> None:
        self._due: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._due)

    def set(self, key: str, at: float | None) -> None:
        """Record ``key``'s next due time, or forget it (None: nothing pending)."""
        if at is None:
            self._due.pop(key, None)
            return
        if self._due.get(key) != at:
            self._due[key] = at
            heapq.heappush(self._heap, (at, key))
            if len(self._heap) > 4 * len(self._due) + 64:
                self._heap = [(t, k) for k, t in self._due.items()]
                heapq.heapify(self._heap)

    def due(self, now: float) -> list[str]:
        """The keys whose due time is ``now`` or earlier, earliest first; they stay in the
        index until set again."""
        passed: list[tuple[float, str]] = []
        while self._heap and self._heap[0][0] <= now:
            at, key = heapq.heappop(self._heap)
            if self._due.get(key) == at and (at, key) not in passed:
                passed.append((at, key))
        for entry in passed:
            heapq.heappush(self._heap, entry)
        return [key for _, key in passed]

    def clear(self) -> None:
        self._due.clear()
        self._heap.clear()
