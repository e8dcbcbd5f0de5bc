"""One clock for a certificate: the day it is examined against and the moment it is dated are
one moment, taken from its events (or the configured examination day), never from the wall
clock when a stage happens to run, so a replay after a crash, across midnight or across New
Year gives the same verdict, the same issue date and the same serial year as the first run.

The rule (``examination_moment``): an application is examined at the moment of the event
that completes it (its submission, or the documents supplied for it), to the second in UTC;
the verification event carries that moment (``completed_at``), and the certificate is dated
by it (``issue_moment``), so its issue date is the day it was examined against, and the
issued-retroactively tick is decided against the issue date itself. A configured
``ECO_EXAMINATION_DATE`` moves that one moment onto the configured day (same time of day):
the examination, the certificate's date and its serial year all follow it, and the two can
never differ. Dating a signature on another day than it is made is only for development keys
(the setting needs ``ECO_DEV_PKI=true``): a signature is only worth the authority in force
when it was made (Form E Rule 3), so the demo and the tests move their samples' dates
relative to today (``moved_to``) instead of examining them as of a day in the past. Form E
Rule 7 and RCEP Article 3.17 examine an application as of its issue; Rule 8(c) numbers
certificates per office and year.
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


def examination_moment(configured: date | None, event_at: datetime) -> datetime:
    """The one moment of a certificate: the time of the event that completes its application
    (UTC, whole seconds), on the configured day (``ECO_EXAMINATION_DATE``) if one is set."""
    at = event_at.astimezone(UTC).replace(microsecond=0)
    if configured is None or configured == at.date():
        return at
    return datetime.combine(configured, at.timetz())


def examination_day(configured: date | None, submitted_at: datetime) -> date:
    """The day an application is examined as of: the configured one (``ECO_EXAMINATION_DATE``),
    else the UTC day its event carries; always the day of its ``examination_moment``."""
    return examination_moment(configured, submitted_at).date()


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


def moved_to(document: Any, day: date) -> Any:
    """A sample of ``samples/`` with its dates moved so that it is examined on ``day`` as it
    was on ``SAMPLES_DAY``: the same verdict, the same days between departure and issue."""
    return shift_dates(document, (day - SAMPLES_DAY).days)
