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
3. **Commit over the log's own gaps, never over an unprocessed record.** Offsets of a
   partition have holes where the log has no record to give: transaction markers (a
   transactional producer, Kafka Streams say, leaves one after every transaction), records
   removed by compaction, aborted transactions. Faust learns of holes from jumps between the
   offsets it hands to streams, after its own buffering, so it missed some (a hole right after
   the committed offset, or after offset 0) and the commit stalled with lag left behind; and
   it committed past one missing offset even when that record was fetched but not processed.
   Here holes are taken from what the Kafka client returns, before Faust buffers anything: a
   jump from the position the partition was last sought to, or from the record before, is a
   hole of the log. The commit moves over processed records and holes only, and also when
   no record was processed since the last commit: a marker the client steps over after the
   last record of a partition was committed is committed too.

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


async def _seek_to_committed_or_beginning(consumer: Any) -> dict[Any, int | None]:
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
    _sought(self.consumer)
    result: dict[Any, int | None] = await self.call_thread(
        _seek_to_committed_or_beginning, self._ensure_consumer())
    expected = _next_offsets(self.consumer)
    for tp, offset in result.items():
        if _ours(tp) and offset is not None:
            expected[tp] = offset  # where the client's position now is
    _sought(self.consumer)  # before and after: a fetch overlapping the seek is not trusted
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
_faust_getmany = faust_consumer.ThreadDelegateConsumer._getmany
_faust_seek = faust_consumer.Consumer.seek
NEXT_OFFSETS = "_eco_next_offsets"
SEEK_EPOCH = "_eco_seek_epoch"


def _next_offsets(consumer: Any) -> dict[Any, int]:
    """Per partition of ours, the offset the Kafka client returns next unless the log has a
    hole there (set by every seek, moved on by every record fetched)."""
    found: dict[Any, int] | None = getattr(consumer, NEXT_OFFSETS, None)
    if found is None:
        found = {}
        setattr(consumer, NEXT_OFFSETS, found)
    return found


def record_holes(consumer: Any, records: Mapping[Any, Any],
                 positions: Mapping[Any, int | None] | None = None) -> None:
    """Note as holes of the log the offsets the client skipped: jumps between the records it
    returned (tp -> records in offset order), and its position beyond the last of them (the
    client steps over a transaction marker without returning anything)."""
    expected = _next_offsets(consumer)
    for tp, batch in records.items():
        if not _ours(tp):
            continue
        for record in batch:
            offset = int(record.offset)
            start = expected.get(tp)
            if start is not None and offset > start:
                consumer._gap[tp].addi(start, offset)
            if start is None or offset >= start:
                expected[tp] = offset + 1
    for tp, position in (positions or {}).items():
        start = expected.get(tp)
        if _ours(tp) and position is not None and start is not None and position > start:
            consumer._gap[tp].addi(start, position)
            expected[tp] = position
            # Faust commits only the partitions in ``_acked``: one whose last records were
            # committed before the client stepped over the marker behind them (or none were
            # processed since a restart) would keep that marker as lag forever.
            consumer._acked.setdefault(tp, [])


def _client_positions(consumer: Any) -> dict[Any, int | None]:
    """The Kafka client's fetch positions of our partitions (aiokafka's subscription state);
    empty where the client does not expose them."""
    try:
        assignment = consumer._thread._consumer._subscription.subscription.assignment
        states = {tp: assignment.state_value(tp) for tp in assignment.tps if _ours(tp)}
    except (AttributeError, KeyError):
        return {}
    # A partition awaiting a reset (after a seek to the beginning, say) has no position yet.
    return {tp: state.position for tp, state in states.items()
            if getattr(state, "has_valid_position", False)}


async def _patched_getmany(self: Any, active_partitions: Any, timeout: float) -> Any:
    epoch = getattr(self, SEEK_EPOCH, 0)
    records = await _faust_getmany(self, active_partitions, timeout)
    # A seek while the records were fetched makes them and the positions say nothing about
    # holes: skip (a hole missed here is found again when the records are fetched again).
    if getattr(self, SEEK_EPOCH, 0) == epoch:
        try:
            record_holes(self, records or {}, _client_positions(self))
        except Exception as exc:  # never stop the fetcher: a missed hole only delays a commit
            self.log.warning("eco: holes not recorded: %r", exc)
    return records


def _sought(consumer: Any) -> None:
    setattr(consumer, SEEK_EPOCH, getattr(consumer, SEEK_EPOCH, 0) + 1)


async def _patched_seek(self: Any, partition: Any, offset: int) -> None:
    _sought(self)
    await _faust_seek(self, partition, offset)
    if _ours(partition):
        _next_offsets(self)[partition] = offset
    _sought(self)


def _patched_new_offset(self: Any, tp: Any) -> int | None:
    """The offset to commit: from the committed one, over processed records and holes."""
    if not _ours(tp):
        result: int | None = _faust_new_offset(self, tp)
        return result
    acked = self._acked[tp]
    holes = self._gap[tp]
    if not acked and not holes:
        return None
    committed = self._committed_offset[tp]
    start = committed if committed is not None else 0
    done = set(acked)
    offset = start
    while True:
        if offset in done:
            offset += 1
            continue
        spans = holes[offset]
        if not spans:
            break
        offset = max(span.end for span in spans)
    if offset == start:
        return None  # the record at ``start`` is neither processed nor a hole
    acked[:] = sorted(o for o in acked if o >= offset)
    self._acked_index[tp].difference_update({o for o in done if o < offset})
    holes.chop(0, offset)
    return offset


async def _patched_add_gap(self: Any, tp: Any, offset_from: int, offset_to: int) -> None:
    """Faust's own gap guess, from offsets after its buffering, is kept for other topics."""
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
    consumer.seek = _patched_seek  # type: ignore[method-assign]
    delegate = faust_consumer.ThreadDelegateConsumer
    delegate._getmany = _patched_getmany  # type: ignore[method-assign]
    _applied = True
