"""The retry schedule's keys sort by due time, and its index finds each country's next due
delivery without scanning, keeps one entry per delivery, and rebuilds from a table's rows."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from pipeline.retryschedule import RetryIndex, due_of_key, schedule_key
from pipeline.stages.transmission import PendingDelivery

BASE = PendingDelivery("certificate", "A-1", "E26", 1, "VN", "<x/>", "ev-1")


def delivery(app: str, country: str = "VN", due: float = 0.0) -> PendingDelivery:
    return replace(BASE, application_id=app, importing_country=country, due=due)


@given(st.lists(st.floats(min_value=0, max_value=4e9, allow_nan=False), min_size=2))
def test_keys_sort_as_their_due_times(dues: list[float]) -> None:
    keys = [schedule_key(delivery(f"A-{n}", due=due)) for n, due in enumerate(dues)]
    assert [due_of_key(k) for k in sorted(keys)] == sorted(due_of_key(k) for k in keys)


def test_each_country_yields_its_earliest_delivery_and_moves_replace_entries() -> None:
    index = RetryIndex()
    index.put(delivery("A-1", "VN", 30.0))
    index.put(delivery("A-2", "VN", 10.0))
    index.put(delivery("A-3", "TH", 20.0))
    assert sorted(index.countries()) == ["TH", "VN"]
    assert index.first("VN") == delivery("A-2", "VN", 10.0)
    old = index.put(delivery("A-2", "VN", 40.0))
    assert old == schedule_key(delivery("A-2", "VN", 10.0)), "the old key is to delete"
    assert index.first("VN") == delivery("A-1", "VN", 30.0) and len(index) == 3
    assert index.count("VN") == 2
    assert index.pop(delivery("A-1").delivery_id) is not None
    assert index.first("VN") == delivery("A-2", "VN", 40.0) and index.count("VN") == 1
    index.pop(delivery("A-3").delivery_id)
    assert index.first("TH") is None and index.countries() == ["VN"]


def test_the_index_is_rebuilt_from_table_rows_leaving_out_busy_deliveries() -> None:
    rows = [(schedule_key(d), d.to_json()) for d in (
        delivery("A-1", due=5.0), delivery("A-1", due=9.0), delivery("A-2", due=1.0),
        delivery("A-3", "MY", due=2.0))]
    index = RetryIndex.of(rows, skip=[delivery("A-2").delivery_id])
    assert index.get(delivery("A-1").delivery_id) == delivery("A-1", due=9.0)
    assert delivery("A-2").delivery_id not in index
    assert index.first("MY") == delivery("A-3", "MY", due=2.0) and len(index) == 2


def test_countries_drops_a_country_whose_deliveries_all_left() -> None:
    index = RetryIndex()
    index.put(delivery("A-1", "VN", 1.0))
    index.put(delivery("A-2", "TH", 2.0))
    index.pop(delivery("A-1").delivery_id)
    assert index.countries() == ["TH"]
