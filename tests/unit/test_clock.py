"""One clock for a certificate; the year boundary; the superseding version's deadline."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.application import parse_application
from pipeline.certificate.numbering import SerialAllocation
from pipeline.clock import SAMPLES_DAY, examination_day, issue_moment, shift_dates
from pipeline.origin import RuleBook, examine

SAMPLES = Path(__file__).resolve().parents[2] / "samples"

LATE = datetime(2026, 12, 31, 23, 59, 58, 700000, tzinfo=UTC)


def test_the_examination_day_comes_from_the_event_or_the_setting() -> None:
    assert examination_day(None, LATE) == date(2026, 12, 31)
    assert examination_day(date(2026, 5, 20), LATE) == date(2026, 5, 20)


def test_a_certificate_is_dated_by_its_examination_event() -> None:
    dated = issue_moment(datetime(2026, 12, 1, 16, 30, 5, 123, tzinfo=UTC).astimezone())
    assert dated == datetime(2026, 12, 1, 16, 30, 5, tzinfo=UTC)


def test_samples_move_with_today_so_departure_and_issue_agree() -> None:
    """Written for 2026-05-20 (departure on 05-10), examined on 2026-12-01: the departure
    moves to 11-21, ten days before the examination as before, and is not retroactive by
    accident."""
    sample = {"transport": {"departure_date": "2026-05-10", "vessel": "2026-05-10 X"},
              "invoices": [{"number": "INV-2026-0042", "date": "2026-04-30"}], "n": 3}
    days = (date(2026, 12, 1) - SAMPLES_DAY).days
    moved = shift_dates(sample, days)
    assert moved == {"transport": {"departure_date": "2026-11-21", "vessel": "2026-05-10 X"},
                     "invoices": [{"number": "INV-2026-0042", "date": "2026-11-11"}], "n": 3}
    assert sample["transport"]["departure_date"] == "2026-05-10"  # type: ignore[index]


def test_a_replay_across_new_year_keeps_the_year_and_the_serial() -> None:
    """Examined on 31 December, the worker crashed after allocating serial 7 of 2026, the
    replay runs on 1 January: same issue moment, so the same sequence (office:2026) and the
    same serial, and 2026 has no gap."""
    first = issue_moment(LATE)
    replayed = issue_moment(LATE)  # the same event, read again in 2027
    assert first == replayed and first.year == 2026
    allocated = SerialAllocation(6, "app-6", "app-6").next_for("app-7", "app-7", recorded=True)
    again = allocated.next_for("app-7", "app-7", recorded=False)
    assert (allocated.serial, again.serial) == (7, 7)


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.json")))
def test_a_sample_moved_to_today_is_examined_as_it_was_on_its_own_day(sample: str) -> None:
    """What the demo relies on: the same verdict, reasons and retroactive note today."""
    document = json.loads((SAMPLES / sample).read_text(encoding="utf-8"))
    today = date(2026, 12, 1)
    moved = shift_dates(document, (today - SAMPLES_DAY).days)
    rules = RuleBook.load([SAMPLES / "psr-demo.csv"])
    then = examine(parse_application(document, sample), rules, SAMPLES_DAY).to_json()
    now = examine(parse_application(moved, sample), rules, today).to_json()
    days = (today - SAMPLES_DAY).days
    then_moved = re.sub(r"\d{4}-\d{2}-\d{2}",
                        lambda m: shift_dates(m.group(0), days), json.dumps(then))
    assert json.dumps(now) == then_moved
