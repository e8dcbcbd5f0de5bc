"""The retry schedule of the transmission stage: deliveries waiting for their next attempt.

Durably, the schedule is a Kafka-backed table whose key starts with the due time,
``<due in ms, 15 digits>|<delivery id>``, so that the keys sort by due time and a store that
keeps keys in order (RocksDB) finds the due entries with one range scan. In memory, this module
keeps the index the stage dispatches from: per importing country, its deliveries ordered by due
time (a heap), so finding the next due delivery never scans the schedule. The index is built
from the table once when the worker's partitions are assigned and then kept with every write.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pipeline.stages.transmission import PendingDelivery

KEY_DIGITS = 15


def schedule_key(delivery: PendingDelivery) -> str:
    """The table key of a delivery: its due time in milliseconds, zero-padded, then its id."""
    return f"{max(int(delivery.due * 1000), 0):0{KEY_DIGITS}d}|{delivery.delivery_id}"


def due_of_key(key: str) -> float:
    """The due time (epoch seconds) a schedule key starts with."""
    return int(key[:KEY_DIGITS]) / 1000


class RetryIndex:
    """Deliveries by country, each country's ordered by due time; one entry per delivery id."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, PendingDelivery]] = {}
        self._heaps: dict[str, list[tuple[float, str, str]]] = {}
        self._counts: Counter[str] = Counter()

    @classmethod
    def of(cls, rows: Iterable[tuple[str, Mapping[str, Any]]],
           skip: Iterable[str] = ()) -> RetryIndex:
        """The index of a table's ``(key, value)`` rows, leaving out the delivery ids in
        ``skip`` (under way right now); of two rows for one delivery, the later due wins."""
        index, busy = cls(), set(skip)
        for key, value in rows:
            delivery = PendingDelivery.from_json(value)
            known = index.get(delivery.delivery_id)
            if delivery.delivery_id in busy or (known is not None and known.due >= delivery.due):
                continue
            index.put(delivery, key)
        return index

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, delivery_id: object) -> bool:
        return delivery_id in self._entries

    def __iter__(self) -> Iterator[PendingDelivery]:
        return iter([delivery for _, delivery in self._entries.values()])

    def get(self, delivery_id: str) -> PendingDelivery | None:
        entry = self._entries.get(delivery_id)
        return None if entry is None else entry[1]

    def key_of(self, delivery_id: str) -> str | None:
        entry = self._entries.get(delivery_id)
        return None if entry is None else entry[0]

    def put(self, delivery: PendingDelivery, key: str | None = None) -> str | None:
        """Add or move ``delivery``; returns the key it had before (to delete), if any."""
        key = key or schedule_key(delivery)
        old = self.key_of(delivery.delivery_id)
        if old is None:
            self._counts[delivery.importing_country] += 1
        self._entries[delivery.delivery_id] = (key, delivery)
        heap = self._heaps.setdefault(delivery.importing_country, [])
        heapq.heappush(heap, (delivery.due, key, delivery.delivery_id))
        return old if old != key else None

    def pop(self, delivery_id: str) -> str | None:
        """Take a delivery out; returns its key, None if it was not there."""
        entry = self._entries.pop(delivery_id, None)
        if entry is None:
            return None
        self._counts[entry[1].importing_country] -= 1
        return entry[0]

    def count(self, country: str) -> int:
        """Deliveries of ``country`` in the index."""
        return self._counts[country]

    def countries(self) -> list[str]:
        """The countries with a delivery in the index."""
        return [country for country in list(self._heaps) if self.first(country) is not None]

    def first(self, country: str) -> PendingDelivery | None:
        """The earliest due delivery of ``country`` (due or not yet)."""
        heap = self._heaps.get(country, [])
        while heap:
            _, key, delivery_id = heap[0]
            entry = self._entries.get(delivery_id)
            if entry is not None and entry[0] == key:
                return entry[1]
            heapq.heappop(heap)  # a moved or removed entry: dropped lazily
        self._heaps.pop(country, None)
        return None
