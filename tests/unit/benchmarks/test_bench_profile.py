"""Reading a raw py-spy profile: main-thread samples only, idle ones apart, each busy sample
counted for the innermost part of the pipeline or library it is in."""

from __future__ import annotations

from pipeline.benchmarks.profile import summarise

RAW = [
    "<module> (pipeline/__main__.py:5);run (faust/worker.py:1);select (selectors.py:468) 40",
    "<module> (pipeline/__main__.py:5);run (faust/worker.py:1);"
    "_process (agents/frame.py:90);encode (pipeline/events/codec.py:84) 30",
    "<module> (pipeline/__main__.py:5);run (faust/worker.py:1);"
    "send (aiokafka/client.py:474);write (asyncio/selector_events.py:1057) 20",
    "<module> (pipeline/__main__.py:5);run (faust/worker.py:1) 10",
    "Thread._bootstrap (threading.py:1002);run (mode/threads.py:1) 500",
    "not a profile line",
]


def test_shares_of_the_main_thread_by_innermost_part() -> None:
    summary = summarise(RAW)
    assert summary.samples == 100, "other threads and junk are left out"
    assert summary.idle == 0.40
    parts = dict(summary.buckets)
    assert parts["events"] == 0.30 and parts["aiokafka"] == 0.20 and parts["faust"] == 0.10
    assert parts["frame"] == 0.0, "the codec called by the frame counts for the codec"
    assert summary.top_self[0] == ("encode (pipeline/events/codec.py:84)", 0.30)
    assert any("idle in the event loop's poll: 40.0%" in line for line in summary.lines())


def test_an_empty_profile_has_no_shares() -> None:
    summary = summarise([])
    assert summary.samples == 0 and summary.idle == 0.0
    assert all(share == 0.0 for _, share in summary.buckets)
