"""Working-day arithmetic for due dates (承诺时限 counts working days, Monday to Friday)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8))


def add_working_days(start: datetime, days: int) -> datetime:
    """Close of office (17:30) `days` working days after `start`, weekends skipped; never before `start`."""
    moment = start
    remaining = days
    while remaining > 0:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            remaining -= 1
    return max(moment.replace(hour=17, minute=30, second=0, microsecond=0), start)


def working_days_between(start: datetime, end: datetime) -> int:
    """Whole working days from `start` to `end`, used to push a due date past a suspension."""
    days = 0
    moment = start
    while moment.date() < end.date():
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days += 1
    return days


def timestamp(moment: datetime) -> str:
    """ISO 8601 with the +08:00 offset, to the second."""
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


def parse_timestamp(text: str) -> datetime:
    """Inverse of `timestamp`."""
    return datetime.fromisoformat(text)
