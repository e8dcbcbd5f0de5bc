"""The frame's batch overlay: a transition sees the writes of the ones before it in the batch,
the tables see nothing until the batch is written, durable tables can be written first, and
the changelog records of a write are handed back to the frame, not to Faust's buffer."""

from __future__ import annotations

from typing import Any

from agents.frame import Batch, keyed, route_changelog
from pipeline.events import new_envelope


class Event:
    """What Faust's tables ask of the event they write for (weak-referenceable)."""


class Producer:
    """Faust's producer as a table uses it: every write queues its changelog record."""

    def __init__(self) -> None:
        self.buffered: list[Any] = []

    def send_soon(self, record: Any) -> None:
        self.buffered.append(record)


class Table(dict[str, Any]):
    """A table that sends a changelog record through the producer on every write."""

    def __init__(self, producer: Producer, *args: Any) -> None:
        super().__init__(*args)
        self.producer = producer

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.producer.send_soon((key, value))

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self.producer.send_soon((key, None))


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
    assert batch.apply(["blocks"]) == []  # plain dicts: no changelog
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
    assert batch.apply(["waiting"]) == []
    save(envelope("app-1"), None, batch)
    assert batch.get("waiting", "app-1") is None
    batch.apply(["waiting"])
    assert tables["waiting"] == {}


def test_the_changelog_records_of_a_write_come_back_to_the_frame_in_order() -> None:
    producer = Producer()
    route_changelog(producer)
    tables = {"blocks": Table(producer, {"k": 1}), "records": Table(producer, {"old": 1})}
    batch = Batch(tables)  # type: ignore[arg-type]
    batch.current = Event()
    batch.put("blocks", "k", 2)
    batch.put("records", "a", {"n": 1})
    batch.put("records", "old", None)
    assert batch.apply(["blocks"]) == [("k", 2)]
    assert batch.apply(["records"]) == [("a", {"n": 1}), ("old", None)]
    assert producer.buffered == []  # none went to the buffer
    tables["records"]["b"] = 3  # a write outside a batch still does
    assert producer.buffered == [("b", 3)]


def test_writes_while_a_transition_is_decided_are_buffered_and_watched_in_that_task_only(
        ) -> None:
    import asyncio

    from agents import frame

    producer = Producer()
    route_changelog(producer)
    route_changelog(producer)  # once per producer, however often asked
    schedule = Table(producer)
    watched: list[Any] = []

    async def deciding() -> None:
        token = frame._WATCHED.set(watched)
        try:
            schedule["due-1"] = {"delivery": "a"}
            await asyncio.sleep(0)  # another task writes meanwhile
            schedule["due-2"] = {"delivery": "b"}
        finally:
            frame._WATCHED.reset(token)

    async def elsewhere() -> None:
        schedule["other"] = 1

    async def run() -> None:
        await asyncio.gather(deciding(), elsewhere())

    asyncio.run(run())
    assert watched == [("due-1", {"delivery": "a"}), ("due-2", {"delivery": "b"})]
    assert producer.buffered == [("due-1", {"delivery": "a"}), ("other", 1),
                                 ("due-2", {"delivery": "b"})]  # all in the buffer, in order


class Store(dict[str, Any]):
    """A table's store (Faust's ``table.data``) that counts its lookups."""

    lookups = 0

    def __getitem__(self, key: str) -> Any:
        self.lookups += 1
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.lookups += 1
        return super().__contains__(key)


class StoredTable:
    """A Faust table as the batch reads it: its ``get`` asks the store twice (holds the key?
    then the value), its store answers once."""

    def __init__(self, store: Store) -> None:
        self.data = store

    def get(self, key: str, default: Any = None) -> Any:
        return self.data[key] if key in self.data else default  # noqa: SIM401 - as Faust does


def test_a_read_asks_the_tables_store_once_found_or_not() -> None:
    store = Store({"held": {"n": 1}, "empty": {}})
    batch = Batch({"t": StoredTable(store)})  # type: ignore[dict-item]
    assert batch.get("t", "held") == {"n": 1} and store.lookups == 1
    assert batch.get("t", "missing") is None and store.lookups == 2
    assert batch.stored("t", "empty") is None and store.lookups == 3  # empty reads as none
