"""A correction to how the Kafka consumer resumes after a rebalance.

After each rebalance Faust seeks every assigned partition back to its committed offset,
so that records fetched while the streams were paused (and skipped) are read again.
aiokafka's ``seek_to_committed`` only seeks when the committed offset is greater than
zero: a partition with no commit yet (or a commit of 0) keeps the fetch position it
had reached, and the records skipped during the rebalance are never read. On a fresh
consumer group that loses the first records of a partition. This patch seeks such
partitions of the pipeline's own topics to their beginning, as the group's
``auto_offset_reset=earliest`` intends; redelivered events are harmless because every
stage is idempotent on the event id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

PIPELINE_TOPIC_PREFIX = "eco."
_applied = False


async def _seek_to_committed_or_beginning(consumer: Any) -> Mapping[Any, int]:
    committed: Mapping[Any, int] = await consumer.seek_to_committed()
    unread = [tp for tp, offset in committed.items()
              if tp.topic.startswith(PIPELINE_TOPIC_PREFIX) and not offset]
    if unread:
        # A concrete position (not a pending reset), which Faust's livelock check reads.
        for tp, first in (await consumer.beginning_offsets(unread)).items():
            consumer.seek(tp, first)
    return committed


async def _patched_seek_to_committed(self: Any) -> Mapping[Any, int]:
    result: Mapping[Any, int] = await self.call_thread(
        _seek_to_committed_or_beginning, self._ensure_consumer())
    return result


def apply() -> None:
    """Install the correction once per process (called when the Faust app is created)."""
    global _applied
    if not _applied:
        thread = faust_aiokafka.AIOKafkaConsumerThread
        thread.seek_to_committed = _patched_seek_to_committed  # type: ignore[method-assign]
        _applied = True
