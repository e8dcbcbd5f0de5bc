"""The corrections to Faust's consumer (pipeline/faustfix.py), on the consumer's own state."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from intervaltree import IntervalTree

from pipeline import faustfix

OURS = TP("eco.issuance-requests", 1)
THEIRS = TP("other-topic", 1)


def _consumer(committed: int | None, acked: list[int], tp: TP = OURS) -> Any:
    state = SimpleNamespace(
        _acked=defaultdict(list), _acked_index=defaultdict(set), _gap=defaultdict(IntervalTree),
        _committed_offset=defaultdict(lambda: None),
    )
    state._acked[tp] = list(acked)
    state._acked_index[tp] = set(acked)
    state._committed_offset[tp] = committed
    return state


def test_a_commit_waits_for_the_record_at_the_committed_offset() -> None:
    # Offset 5 is the next record to process; 6 and 7 are done. Faust would commit 8.
    assert faustfix._faust_new_offset(_consumer(5, [6, 7]), OURS) == 8
    assert faustfix._patched_new_offset(_consumer(5, [6, 7]), OURS) is None


def test_a_commit_moves_on_over_consecutive_processed_records() -> None:
    assert faustfix._patched_new_offset(_consumer(5, [5, 6, 7]), OURS) == 8
    assert faustfix._patched_new_offset(_consumer(None, [0, 1]), OURS) == 2
    assert faustfix._patched_new_offset(_consumer(5, [5, 6, 9]), OURS) == 7


def test_other_topics_keep_fausts_rule() -> None:
    assert faustfix._patched_new_offset(_consumer(5, [6, 7], THEIRS), THEIRS) == 8


def test_a_jump_in_fetched_offsets_is_not_taken_as_processed() -> None:
    ours, theirs = _consumer(5, [], OURS), _consumer(5, [], THEIRS)
    asyncio.run(faustfix._patched_add_gap(ours, OURS, 6, 9))
    asyncio.run(faustfix._patched_add_gap(theirs, THEIRS, 6, 9))
    assert not ours._gap[OURS]
    assert theirs._gap[THEIRS]  # Faust's gap filling is kept where it was


class _Recorder:
    """Stands in for the recovery service and the app around it, recording the calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        record = self.calls.append

        async def perform_seek() -> None:
            record("seek")

        async def send() -> None:
            record("rebalance_complete")

        async def maybe_start() -> None:
            record("fetcher")

        async def wait(coro: Any, timeout: float) -> None:
            await coro

        self.consumer = SimpleNamespace(
            assignment=lambda: {OURS, TP("eco-test-issuance-seen-changelog", 1)},
            perform_seek=perform_seek,
            resume_flow=lambda: record("resume_flow"),
            resume_partitions=lambda tps: record(
                f"resume_partitions {sorted(t.topic for t in tps)}"),
        )
        self.app = SimpleNamespace(
            consumer=self.consumer, consumer_generation_id=4,
            on_rebalance_complete=SimpleNamespace(send=send),
            conf=SimpleNamespace(broker_request_timeout=30.0),
            flow_control=SimpleNamespace(resume=lambda: record("empty_buffers")),
            _fetcher=SimpleNamespace(maybe_start=maybe_start),
            on_rebalance_end=lambda: record("rebalance_end"),
        )
        self.completed = SimpleNamespace(set=lambda: record("completed"))
        self.app.assignor = SimpleNamespace(assigned_standbys=lambda: set())
        self.tables = SimpleNamespace(on_actives_ready=lambda: None,
                                      on_standbys_ready=lambda: None, values=lambda: [])
        self.actives_for_table: dict[Any, Any] = {}
        self.standbys_for_table: dict[Any, Any] = {}
        self._set_recovery_ended = lambda: None
        self.log = SimpleNamespace(info=lambda *a: None, warning=lambda *a: record("again"))
        self._wait = wait
        self._is_changelog_tp = lambda tp: tp.topic.endswith("-changelog")


RESUMES = [faustfix._patched_resume_streams, faustfix._patched_on_recovery_completed]


@pytest.mark.parametrize("resume", RESUMES, ids=["without tables", "tables restored"])
def test_streams_are_sought_and_buffers_emptied_before_their_partitions_resume(
        resume: Any) -> None:
    recovery = _Recorder()
    asyncio.run(resume(recovery, generation_id=4))
    calls = recovery.calls
    resumed = "resume_partitions ['eco.issuance-requests']"
    assert resumed in calls  # changelog partitions are not the streams'
    assert calls.index("seek") < calls.index("empty_buffers") < calls.index(resumed)
    assert calls.index(resumed) < calls.index("fetcher")


@pytest.mark.parametrize("resume", RESUMES, ids=["without tables", "tables restored"])
def test_a_newer_rebalance_leaves_the_partitions_paused(resume: Any) -> None:
    recovery = _Recorder()
    asyncio.run(resume(recovery, generation_id=3))
    assert recovery.calls == ["rebalance_complete", "again"]


def test_the_corrections_are_installed_by_the_app() -> None:
    from faust.tables.recovery import Recovery
    from faust.transport.consumer import Consumer

    from pipeline.app import create_app
    from pipeline.settings import Settings

    create_app(Settings.from_env({}))
    assert Recovery._resume_streams is faustfix._patched_resume_streams
    assert Recovery.on_recovery_completed is faustfix._patched_on_recovery_completed
    assert Consumer._new_offset is faustfix._patched_new_offset
    assert Consumer._add_gap is faustfix._patched_add_gap


class _Kafka:
    """Stands in for aiokafka's consumer: committed offsets, log start offsets, seeks."""

    def __init__(self, committed: dict[TP, int | None], first: dict[TP, int]) -> None:
        self.committed, self.first = committed, first
        self.seeks: dict[TP, int] = {}

    async def seek_to_committed(self) -> dict[TP, int | None]:
        return dict(self.committed)

    async def beginning_offsets(self, tps: list[TP]) -> dict[TP, int]:
        return {tp: self.first[tp] for tp in tps}

    def seek(self, tp: TP, offset: int) -> None:
        self.seeks[tp] = offset


def test_partitions_without_a_usable_commit_are_read_from_their_first_record() -> None:
    new, going, expired = TP("eco.application", 0), TP("eco.application", 1), OURS
    kafka = _Kafka({new: None, going: 5, expired: 2, THEIRS: None},
                   {new: 0, going: 0, expired: 3, THEIRS: 0})
    positions = asyncio.run(faustfix._seek_to_committed_or_beginning(kafka))
    assert kafka.seeks == {new: 0, expired: 3}  # a commit that still points at records stays
    assert positions == {new: 0, going: 5, expired: 3, THEIRS: None}


def _fetched(*offsets: int) -> list[Any]:
    return [SimpleNamespace(offset=o) for o in offsets]


def test_holes_of_the_log_are_taken_from_what_the_client_returns() -> None:
    """A transactional producer leaves a marker after each transaction: 0 r, 1 m, 2 r, 3 m."""
    consumer = _consumer(0, [])
    faustfix._next_offsets(consumer)[OURS] = 0  # sought to the committed offset 0
    faustfix.record_holes(consumer, {OURS: _fetched(0, 2)})
    faustfix.record_holes(consumer, {OURS: _fetched(4, 5)})
    assert sorted((i.begin, i.end) for i in consumer._gap[OURS]) == [(1, 2), (3, 4)]
    consumer._acked[OURS] = [0, 2, 4, 5]
    consumer._acked_index[OURS] = {0, 2, 4, 5}
    assert faustfix._patched_new_offset(consumer, OURS) == 6
    assert not consumer._acked[OURS] and not consumer._gap[OURS]


def test_a_hole_right_after_the_committed_offset_does_not_stall_the_commit() -> None:
    # Committed 10 is a marker: the first record after the seek is 11. Faust saw no jump.
    consumer = _consumer(10, [11, 12])
    faustfix._next_offsets(consumer)[OURS] = 10
    faustfix.record_holes(consumer, {OURS: _fetched(11, 12)})
    assert faustfix._patched_new_offset(consumer, OURS) == 13


def test_a_record_fetched_but_not_processed_is_not_a_hole() -> None:
    # 11 was fetched (no jump), thrown away with a stream's buffer, never acknowledged.
    consumer = _consumer(10, [10, 12])
    faustfix._next_offsets(consumer)[OURS] = 10
    faustfix.record_holes(consumer, {OURS: _fetched(10, 11, 12)})
    assert not consumer._gap[OURS]
    assert faustfix._patched_new_offset(consumer, OURS) == 11
    assert faustfix._patched_new_offset(consumer, OURS) is None


def test_without_a_known_position_the_first_record_sets_it() -> None:
    consumer = _consumer(None, [])
    faustfix.record_holes(consumer, {OURS: _fetched(7, 9), THEIRS: _fetched(1, 5)})
    assert sorted((i.begin, i.end) for i in consumer._gap[OURS]) == [(8, 9)]
    assert not consumer._gap[THEIRS]


def test_a_marker_after_the_last_record_is_a_hole_by_the_clients_position() -> None:
    # Records 0..2, the marker at 3: the client's position is 4 though it returned up to 2.
    consumer = _consumer(0, [0, 1, 2])
    faustfix._next_offsets(consumer)[OURS] = 0
    faustfix.record_holes(consumer, {OURS: _fetched(0, 1, 2)}, {OURS: 4, THEIRS: 9})
    assert faustfix._patched_new_offset(consumer, OURS) == 4
    assert not consumer._gap[THEIRS]


def test_a_partition_without_a_position_yet_is_left_alone() -> None:
    awaiting_reset = SimpleNamespace(has_valid_position=False)
    placed = SimpleNamespace(has_valid_position=True, position=12)
    assignment = SimpleNamespace(tps={OURS, THEIRS, TP("eco.issuance", 0)},
                                 state_value={OURS: placed, THEIRS: placed,
                                              TP("eco.issuance", 0): awaiting_reset}.__getitem__)
    consumer = SimpleNamespace(_thread=SimpleNamespace(_consumer=SimpleNamespace(
        _subscription=SimpleNamespace(subscription=SimpleNamespace(assignment=assignment)))))
    assert faustfix._client_positions(consumer) == {OURS: 12}
    assert faustfix._client_positions(SimpleNamespace()) == {}


def test_a_marker_stepped_over_after_the_last_commit_is_committed_too() -> None:
    # Records 0..2 processed and committed (3); only then does the client step over the
    # marker at 3. Nothing new is acknowledged, yet the commit moves to 4: no lag is left.
    consumer = _consumer(3, [])
    faustfix._next_offsets(consumer)[OURS] = 3
    assert faustfix._patched_new_offset(consumer, OURS) is None
    faustfix.record_holes(consumer, {}, {OURS: 4})
    assert faustfix._patched_new_offset(consumer, OURS) == 4
    assert not consumer._gap[OURS]


def test_a_partition_with_only_a_hole_since_a_restart_is_among_those_faust_commits() -> None:
    consumer = _consumer(7, [])
    del consumer._acked[OURS]
    faustfix._next_offsets(consumer)[OURS] = 7
    faustfix.record_holes(consumer, {}, {OURS: 8})
    assert OURS in consumer._acked
    assert faustfix._patched_new_offset(consumer, OURS) == 8
