"""Serial blocks: a batch's serials in one write, the same serial for a replayed holder
whatever the batches it is replayed in, and no gap when a holder fails for good."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.stages.serials import SerialBlock


def test_a_batch_takes_consecutive_serials_and_a_replay_gets_them_back() -> None:
    block = SerialBlock()
    serials = []
    for holder in ("a", "b", "c"):
        serial, block = block.serial_for(holder, holder)
        serials.append(serial)
    assert serials == [1, 2, 3]
    assert block.serial_for("b", "b")[0] == 2
    assert block.serial_for("d", "d")[0] == 4


def test_a_released_serial_goes_to_the_next_new_holder() -> None:
    block = SerialBlock()
    for holder in ("a", "b", "c"):
        _, block = block.serial_for(holder, holder)
    block = block.release("b")
    assert block.free == (2,)
    serial, block = block.serial_for("d", "d")
    assert serial == 2 and block.free == ()
    assert block.serial_for("e", "e")[0] == 4


def test_recorded_holders_leave_the_block_and_it_survives_json() -> None:
    block = SerialBlock()
    for holder in ("a", "b"):
        _, block = block.serial_for(holder, f"app-{holder}")
    block = block.forget_recorded(lambda holder, app: holder == "a")
    assert set(block.held) == {"b"}
    assert SerialBlock.from_json(block.to_json()) == block


def test_the_single_allocation_of_earlier_versions_reads_as_a_block() -> None:
    block = SerialBlock.from_json({"serial": 7, "holder": "h", "application_id": "app"})
    assert block.last == 7 and block.serial_for("h", "app")[0] == 7
    assert SerialBlock.from_json(5).serial_for("x", "x")[0] == 6
    with pytest.raises(ValueError, match="not a serial block"):
        SerialBlock.from_json("five")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 4), st.booleans(), st.sampled_from(
    ["ok", "ok", "ok", "fails", "fails-when-replayed"])), min_size=1, max_size=25))
def test_crashes_and_failures_never_skip_or_repeat_a_serial(
        plan: list[tuple[int, bool, str]]) -> None:
    """Holders arrive in order; each step takes a batch of them, allocates their serials
    (the block is durable), then either records the certificates or crashes before that,
    and the unrecorded holders come again. A holder that fails for good releases its serial.
    At the end the recorded serials and the freed ones are exactly 1..last, and a freed one
    exists only when no holder came after the failure to take it."""
    holders = [f"h{i}" for i in range(len(plan))]
    fate = {h: p[2] for h, p in zip(holders, plan, strict=True)}
    block = SerialBlock()
    recorded: dict[str, int] = {}
    queue = list(holders)
    steps = 0
    tries: dict[str, int] = {}
    while queue and steps < 200:
        steps += 1
        size, crash = plan[steps % len(plan)][:2]
        batch, queue = queue[:size], queue[size:]
        block = block.forget_recorded(lambda holder, app: holder in recorded)
        taken: dict[str, int] = {}
        for holder in batch:
            tries[holder] = tries.get(holder, 0) + 1
            if fate[holder] == "fails" or (fate[holder] == "fails-when-replayed"
                                           and tries[holder] > 1):
                block = block.release(holder)
                continue
            serial, block = block.serial_for(holder, holder)
            taken[holder] = serial
        if crash and steps % 3:
            queue = batch + queue  # replayed from the last commit
            continue
        recorded.update(taken)
    assert not queue
    assert len(set(recorded.values())) == len(recorded)
    assert sorted([*recorded.values(), *block.free]) == list(range(1, block.last + 1))
