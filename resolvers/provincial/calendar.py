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


def office_moment(moment: datetime) -> datetime:
    """The same moment if it falls in office hours (Mon-Fri 09:00-17:30), else the next opening."""
    if moment.weekday() < 5 and (9, 0) <= (moment.hour, moment.minute) < (17, 30):
        return moment
    opening = moment.replace(hour=9, minute=0, second=0, microsecond=0)
    if (moment.hour, moment.minute) >= (9, 0) or moment.weekday() >= 5:
        opening += timedelta(days=1)
    while opening.weekday() >= 5:
        opening += timedelta(days=1)
    return opening + timedelta(minutes=moment.minute, seconds=moment.second)


def working_days_between(start: datetime, end: datetime) -> int:
    """Whole working days from `start` to `end`, used to push a due date past a suspension."""
    days = 0
    moment = start
    while moment.date() < end.date():
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            days += 1
    return days


def years_later(moment: datetime, years: int) -> datetime:
    """The same calendar day `years` later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def timestamp(moment: datetime) -> str:
    """ISO 8601 with the +08:00 offset, to the second."""
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


def parse_timestamp(text: str) -> datetime:
    """Inverse of `timestamp`."""
    return datetime.fromisoformat(text)
