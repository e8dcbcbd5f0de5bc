"""The frame's batch overlay: a transition sees the writes of the ones before it in the batch,
the tables see nothing until the batch is written, and durable tables can be written first."""

from __future__ import annotations

from typing import Any

from agents.frame import Batch, keyed
from pipeline.events import new_envelope


class Event:
    """What Faust's tables ask of the event they write for (weak-referenceable)."""


def envelope(subject: str) -> Any:
    return new_envelope("eco.alert.raised.v1", {}, source="test", subject=subject)


def test_reads_see_the_batch_writes_and_tables_only_see_them_when_applied() -> None:
    tables: dict[str, dict[str, Any]] = {"blocks": {"k": 1}, "records": {}}
    batch = Batch(tables)  # type: ignore[arg-type]
    batch.current = Event()
    batch.put("blocks", "k", 2)
    batch.put("records", "a", {"n": 1})
    assert batch.get("blocks", "k") == 2 and batch.stored("blocks", "k") == 1
    assert tables == {"blocks": {"k": 1}, "records": {}}
    assert batch.apply(["blocks"]) == 1
    assert tables == {"blocks": {"k": 2}, "records": {}}
    batch.apply(["records"])
    assert tables["records"] == {"a": {"n": 1}}


def test_a_state_back_to_its_default_deletes_the_key_and_an_unchanged_one_writes_nothing() -> None:
    tables: dict[str, dict[str, Any]] = {"waiting": {"app-1": {"doc": "x"}}}
    batch = Batch(tables)  # type: ignore[arg-type]
    batch.current = Event()
    load, save = keyed("waiting")
    state = load(envelope("app-1"), batch)
    save(envelope("app-1"), state, batch)
    assert batch.apply(["waiting"]) == 0
    save(envelope("app-1"), None, batch)
    assert batch.get("waiting", "app-1") is None
    batch.apply(["waiting"])
    assert tables["waiting"] == {}
