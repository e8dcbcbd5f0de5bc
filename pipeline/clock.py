"""One clock for a certificate: the day it is examined against and the moment it is dated are
taken from its events (or the configured examination day), never from the wall clock when a
stage happens to run, so a replay after a crash, across midnight or across New Year gives the
same verdict, the same issue date and the same serial year as the first run.

A certificate is dated when it was examined (the verification event's time), never earlier:
a signature is only worth the authority in force when it was made (Form E Rule 3), so the
demo moves its samples' dates relative to today (``shift_dates``) instead of examining them
as of a day in the past. Form E Rule 7 and RCEP Article 3.17 examine an application as of
its issue; Rule 8(c) numbers certificates per office and year.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The day the samples in samples/ were written for: their departures, invoices and
# declarations lie a few days before it.
SAMPLES_DAY = date(2026, 5, 20)


def examination_day(configured: date | None, submitted_at: datetime) -> date:
    """The day an application is examined as of: the configured one (``ECO_EXAMINATION_DATE``),
    else the UTC day its submission event carries."""
    return configured or submitted_at.astimezone(UTC).date()


def issue_moment(examined_at: datetime) -> datetime:
    """When a certificate is dated: the time of the event it is issued from (UTC, whole
    seconds), so a replay dates it, and numbers it in the year, as the first run did."""
    return examined_at.astimezone(UTC).replace(microsecond=0)


def shift_dates(document: Any, days: int) -> Any:
    """A copy of an application document with every ``YYYY-MM-DD`` value moved by ``days``,
    so that a sample keeps its dates relative to the day it is examined."""
    if isinstance(document, Mapping):
        return {key: shift_dates(value, days) for key, value in document.items()}
    if isinstance(document, list):
        return [shift_dates(value, days) for value in document]
    if isinstance(document, str) and _DAY.match(document):
        try:
            return (date.fromisoformat(document) + timedelta(days=days)).isoformat()
        except ValueError:
            return document
    return document
