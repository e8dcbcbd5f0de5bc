"""One clock for a certificate: the day it is examined against and the day it is dated are
taken from its events (or the configured examination day), never from the wall clock when a
stage happens to run, so a replay after a crash, across midnight or across New Year, gives the
same verdict, the same issue date and the same serial year as the first run.

Form E Rule 7 and RCEP Article 3.17 examine an application as of its issue; Rule 8(c)
numbers certificates per office and year. Plain functions of their arguments.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def examination_day(configured: date | None, submitted_at: datetime) -> date:
    """The day an application is examined as of: the configured one (``ECO_EXAMINATION_DATE``),
    else the UTC day its submission event carries."""
    return configured or submitted_at.astimezone(UTC).date()


def issue_moment(configured: date | None, examined_at: datetime) -> datetime:
    """When a certificate is dated: the day it was examined against, at the time of day of the
    examination's event (UTC, whole seconds). With a configured examination day the certificate
    is dated that day, so it is issued as of the day it was examined against."""
    moment = examined_at.astimezone(UTC).replace(microsecond=0)
    day = configured or moment.date()
    return datetime.combine(day, moment.time(), UTC)
