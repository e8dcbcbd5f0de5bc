"""Consumer lag per topic and partition, as ``eco_consumer_lag_records``.

The lag of a partition is the records written to it that the consumer group has not committed
yet: the partition's high watermark (the offset of the next record to be written) minus the
committed offset (the next record the group will read). Each worker reports the partitions
assigned to it, computed at scrape time from figures the consumer already holds (the high
watermark of its last fetch, the offsets it committed): a scrape asks the broker nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.metrics import SnapshotGauge, register_snapshot

LAG_METRIC = "eco_consumer_lag_records"


@dataclass(frozen=True)
class PartitionOffsets:
    """What the consumer knows of one assigned partition; ``None`` when not known yet."""

    topic: str
    partition: int
    highwater: int | None
    committed: int | None


def partition_lag(offsets: PartitionOffsets) -> int | None:
    """Records not yet committed; ``None`` before the first fetch told the high watermark.

    Without a committed offset the group has read nothing of the partition, so everything up
    to the high watermark is lag (its earliest records may have been deleted by retention:
    the figure is then an upper bound)."""
    if offsets.highwater is None:
        return None
    committed = offsets.committed or 0
    return max(offsets.highwater - committed, 0)


def lags(partitions: Iterable[PartitionOffsets]) -> dict[tuple[str, ...], float]:
    """``{(topic, partition): lag}`` for every partition whose lag is known."""
    result: dict[tuple[str, ...], float] = {}
    for offsets in partitions:
        lag = partition_lag(offsets)
        if lag is not None:
            result[(offsets.topic, str(offsets.partition))] = float(lag)
    return result


def faust_offsets(consumer: Any) -> list[PartitionOffsets]:
    """The offsets a Faust consumer (``app.consumer``) holds for its assigned partitions.

    Faust keeps the offsets it committed in ``_committed_offset`` (Kafka's meaning: the next
    offset to read); there is no public accessor for them."""
    try:
        assigned = consumer.assignment()
    except Exception:  # the consumer is not started, or is between generations
        return []
    committed: Mapping[Any, int | None] = getattr(consumer, "_committed_offset", {})
    found = []
    for tp in assigned:
        try:
            highwater = consumer.highwater(tp)
        except Exception:
            highwater = None
        found.append(PartitionOffsets(tp.topic, tp.partition, highwater, committed.get(tp)))
    return found


def watch_consumer_lag(partitions: Callable[[], Iterable[PartitionOffsets]]) -> SnapshotGauge:
    """Register the lag gauge over ``partitions`` (called at each scrape)."""
    gauge = SnapshotGauge(
        LAG_METRIC,
        "Records of a partition the consumer group has not committed yet, on this worker's "
        "assigned partitions.",
        ["topic", "partition"],
        lambda: lags(partitions()),
    )
    register_snapshot(gauge)
    return gauge
