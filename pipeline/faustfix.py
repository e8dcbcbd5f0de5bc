"""Corrections to how Faust's Kafka consumer resumes after a rebalance.

Found with several workers sharing a consumer group while one of them is killed
(``tests/integration/test_issuance.py``); each keeps the pipeline at least once.

1. **Seek partitions with no committed offset.** After each rebalance Faust seeks every
   assigned partition back to its committed offset, so that records fetched while the
   streams were paused (and skipped) are read again. aiokafka's ``seek_to_committed``
   only seeks when the committed offset is greater than zero: a partition with no
   commit yet keeps the fetch position it had reached, and the records skipped during
   the rebalance are never read. Such partitions of the pipeline's own topics are sought
   to their beginning, as the group's ``auto_offset_reset=earliest`` intends; so are
   partitions whose committed offset points at records already deleted by retention.
2. **Seek before fetching, not while fetching.** Faust's recovery (with tables or
   without) resumes the stream partitions, then seeks them, then resumes the flow, which
   empties the streams' buffers. Records fetched between the resume and the seek were
   buffered, counted as read, then thrown away with the buffers; fetched again after the
   seek, they were dropped as already read: a worker processed offsets 0, 1, 4, 5 … of a
   partition and never 2 and 3. Here the partitions are sought while still paused, the
   buffers emptied, and only then are the partitions resumed, so the first record fetched
   is the one after the last commit.
3. **Never commit past a record that was not processed.** Faust commits the run of
   acknowledged offsets even when one offset before it is missing, and treats a jump in
   fetched offsets as offsets to skip. The pipeline's topics are neither transactional
   nor compacted where stages read them, so their offsets have no holes: a missing offset
   is a record not yet processed, and the commit waits for it.

Redelivered events are harmless because every stage is idempotent on the event id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from faust.tables import recovery as faust_recovery
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka

PIPELINE_TOPIC_PREFIX = "eco."
_applied = False


def _ours(tp: Any) -> bool:
    return str(tp.topic).startswith(PIPELINE_TOPIC_PREFIX)


async def _seek_to_committed_or_beginning(consumer: Any) -> Mapping[Any, int | None]:
    """Seek to the committed offsets; where there is none, or the records it points at
    are gone (retention), seek to the first record there is and report that position."""
    committed: dict[Any, int | None] = dict(await consumer.seek_to_committed())
    ours = [tp for tp in committed if _ours(tp)]
    if ours:
        for tp, first in (await consumer.beginning_offsets(ours)).items():
            offset = committed[tp]
            if not offset or offset < first:
                # A concrete position (not a pending reset), which Faust's livelock check
                # reads; and where reading resumes, which the commit check below compares.
                consumer.seek(tp, first)
                committed[tp] = first
    return committed


async def _patched_seek_to_committed(self: Any) -> Mapping[Any, int | None]:
    result: Mapping[Any, int | None] = await self.call_thread(
        _seek_to_committed_or_beginning, self._ensure_consumer())
    return result


async def _seek_then_resume(recovery: Any) -> None:
    """Seek the paused stream partitions, empty the buffers, then resume the partitions."""
    app = recovery.app
    consumer = app.consumer
    assignment = consumer.assignment()
    if assignment:
        recovery.log.info("Seek stream partitions to committed offsets.")
        await recovery._wait(consumer.perform_seek(), timeout=app.conf.broker_request_timeout)
    else:
        recovery.log.info("Resuming streams with empty assignment")
    recovery.completed.set()
    recovery.log.info("Resuming flow...")
    app.flow_control.resume()  # empties the streams' buffers: nothing fetched is lost now
    consumer.resume_flow()
    if assignment:
        consumer.resume_partitions(
            {tp for tp in assignment if not recovery._is_changelog_tp(tp)})
    await app._fetcher.maybe_start()


async def _patched_resume_streams(self: Any, generation_id: int = 0) -> None:
    """Faust's ``Recovery._resume_streams`` (a worker without tables), seeking first."""
    app = self.app
    await app.on_rebalance_complete.send()
    if app.consumer_generation_id != generation_id:
        self.log.warning("Recovery rebalancing again")
        return
    await _seek_then_resume(self)
    self.tables.on_actives_ready()
    self.tables.on_standbys_ready()
    app.on_rebalance_end()
    self.log.info("Worker ready")


async def _patched_on_recovery_completed(self: Any, generation_id: int = 0) -> None:
    """Faust's ``Recovery.on_recovery_completed`` (tables restored), seeking first."""
    app = self.app
    self.log.info("Restore complete!")
    await app.on_rebalance_complete.send()
    self._set_recovery_ended()
    callbacks = [
        asyncio.ensure_future(table.on_recovery_completed(
            self.actives_for_table[table], self.standbys_for_table[table]))
        for table in self.tables.values()
    ]
    if callbacks:
        await asyncio.wait(callbacks)
    if app.consumer_generation_id != generation_id:
        self.log.warning("Recovery rebalancing again")
        return
    await _seek_then_resume(self)
    self.tables.on_actives_ready()
    if not app.assignor.assigned_standbys():
        self.tables.on_standbys_ready()
    app.on_rebalance_end()
    self.log.info("Worker ready")


_faust_new_offset = faust_consumer.Consumer._new_offset
_faust_add_gap = faust_consumer.Consumer._add_gap


def _patched_new_offset(self: Any, tp: Any) -> int | None:
    if _ours(tp):
        acked = self._acked[tp]
        committed = self._committed_offset[tp]
        if acked and committed is not None and min(acked) > committed:
            return None  # the record at ``committed`` has not been processed yet
    result: int | None = _faust_new_offset(self, tp)
    return result


async def _patched_add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
    if not _ours(tp):
        await _faust_add_gap(self, tp, offset_from, offset_to)


def apply() -> None:
    """Install the corrections once per process (called when the Faust app is created)."""
    global _applied
    if _applied:
        return
    thread = faust_aiokafka.AIOKafkaConsumerThread
    thread.seek_to_committed = _patched_seek_to_committed  # type: ignore[method-assign,assignment]
    recovery = faust_recovery.Recovery
    recovery._resume_streams = _patched_resume_streams  # type: ignore[method-assign]
    recovery.on_recovery_completed = _patched_on_recovery_completed  # type: ignore[method-assign]
    consumer = faust_consumer.Consumer
    consumer._new_offset = _patched_new_offset  # type: ignore[method-assign]
    consumer._add_gap = _patched_add_gap  # type: ignore[method-assign]
    _applied = True
