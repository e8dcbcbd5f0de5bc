"""The deadline index: only what is due, earliest first, and what was set again moves."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.stages.dueindex import DueIndex


def test_due_lists_the_passed_keys_in_order_and_keeps_them_until_set() -> None:
    index = DueIndex()
    index.set("b", 20.0)
    index.set("a", 10.0)
    index.set("c", 30.0)
    assert index.due(25.0) == ["a", "b"]
    assert index.due(25.0) == ["a", "b"]
    index.set("a", None)
    index.set("b", 40.0)
    assert index.due(35.0) == ["c"]
    assert len(index) == 2


@given(st.lists(st.tuples(st.sampled_from("abcdef"), st.one_of(st.none(), st.floats(0, 100))),
                max_size=40), st.floats(0, 100))
def test_due_is_what_a_full_scan_would_find(steps: list[tuple[str, float | None]],
                                            now: float) -> None:
    index = DueIndex()
    latest: dict[str, float | None] = {}
    for key, at in steps:
        index.set(key, at)
        latest[key] = at
    expected = sorted((at, key) for key, at in latest.items() if at is not None and at <= now)
    assert index.due(now) == [key for _, key in expected]
