"""Scheduling rules as plain functions: what a schedule may say, and when its rounds open, remind and close.

A schedule names a day of some months ("the first Monday of January, April, July and October"), a local time and a
time zone. Every instant is computed from local dates in that zone and then turned into UTC, so a round opens at
09:00 local time whether daylight saving is on or off. A local time that does not exist (skipped when clocks go
forward) moves forward by the gap; one that happens twice (when clocks go back) means the first of the two.

No database or web imports: the scheduler (scheduler.py) and the admin pages call these functions.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from survey.errors import Refused

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
MAX_DAYS_OPEN = 366
MAX_LEAD_DAYS = 366
# What a new schedule says when HR leaves a field out: quarterly, like most employee surveys.
DEFAULTS = {
    "months": "1,4,7,10",
    "week": 1,
    "weekday": 0,
    "open_time": "09:00",
    "days_open": 14,
    "reminder_days": "5,10",
    "timezone": "UTC",
    "lead_days": 28,
}


class ScheduleError(Refused):
    """A schedule that cannot be used. `errors` maps each wrong field to a message saying what is accepted."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))


@dataclass(frozen=True)
class ScheduleSpec:
    """A valid schedule. Make one with `parse_spec`, which checks every field."""

    months: tuple[int, ...]  # 1..12, ascending
    week: int  # 1..4, or -1 for the last
    weekday: int  # 0 = Monday
    open_time: time
    days_open: int
    reminder_days: tuple[int, ...]  # days after opening, ascending, each inside the window
    timezone: str  # IANA name
    lead_days: int  # rounds are created this many days before they open

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def quarterly(self) -> bool:
        """One round in each calendar quarter: rounds are then named "2027 Q1"."""
        return len(self.months) == 4 and {(m - 1) // 3 for m in self.months} == {0, 1, 2, 3}

    def fields(self) -> dict[str, object]:
        """The values as the Schedule table stores them."""
        return {
            "months": ",".join(map(str, self.months)),
            "week": self.week,
            "weekday": self.weekday,
            "open_time": self.open_time.strftime("%H:%M"),
            "days_open": self.days_open,
            "reminder_days": ",".join(map(str, self.reminder_days)),
            "timezone": self.timezone,
            "lead_days": self.lead_days,
        }


@dataclass(frozen=True)
class Window:
    """One round of a schedule: when it opens, reminds and closes (aware UTC datetimes)."""

    period: str  # the month that opens it, "2027-01": a schedule makes at most one round per period
    name: str  # "2027 Q1" for a quarterly schedule, else "2027-01"
    opens_at: datetime
    closes_at: datetime
    reminders_at: tuple[datetime, ...]


# --- validation -------------------------------------------------------------------------------------------------


def _whole_number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,6}\s*", value):
        return int(value)
    return None


def _list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in re.split(r"[\s,;]+", value) if part]
    if isinstance(value, Iterable):
        return list(value)
    return [value]


def _month(token: object) -> int | None:
    number = _whole_number(token)
    if number is not None:
        return number if 1 <= number <= 12 else None
    if isinstance(token, str) and len(token) >= 3:
        for index, name in enumerate(calendar.month_name[1:], 1):
            if name.lower().startswith(token.lower()):
                return index
    return None


def _months(value: object) -> tuple[tuple[int, ...], str | None]:
    tokens = _list(value)
    if not tokens:
        return (), "name at least one month, e.g. 1,4,7,10"
    months = []
    for token in tokens:
        month = _month(token)
        if month is None:
            return (), f"{token!r} is not a month: use 1 to 12 or a month name, e.g. 1,4,7,10"
        if month in months:
            return (), f"{MONTHS[month - 1]} is listed twice"
        months.append(month)
    return tuple(sorted(months)), None


def _week(value: object) -> tuple[int, str | None]:
    if isinstance(value, str) and value.strip().lower() in set(WEEKS.values()):
        return next(n for n, name in WEEKS.items() if name == value.strip().lower()), None
    number = _whole_number(value)
    if number not in WEEKS:
        return 0, f"use 1 to 4 (first to fourth week of the month) or -1 (last), not {value!r}"
    return number, None


def _weekday(value: object) -> tuple[int, str | None]:
    number = _whole_number(value)
    if number is not None and 0 <= number <= 6:
        return number, None
    if isinstance(value, str) and len(value.strip()) >= 2 and number is None:
        matches = [i for i, name in enumerate(WEEKDAYS) if name.lower().startswith(value.strip().lower())]
        if len(matches) == 1:
            return matches[0], None
    return 0, f"use a day name (mon to sun) or 0 (Monday) to 6 (Sunday), not {value!r}"


def _time(value: object) -> tuple[time, str | None]:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None), None
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value) if isinstance(value, str) else None
    if match and int(match[1]) <= 23 and int(match[2]) <= 59:
        return time(int(match[1]), int(match[2])), None
    return time(0), f"use a 24-hour time HH:MM, e.g. 09:00, not {value!r}"


def _zone(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "name the organisation's time zone, e.g. Europe/Berlin"
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin or America/New_York"
    return None


def _min_month_gap(months: tuple[int, ...]) -> int:
    """The fewest months between two consecutive opening months, across the turn of the year too."""
    if len(months) == 1:
        return 12
    return min((b - a) % 12 or 12 for a, b in zip(months, months[1:] + months[:1], strict=True))


def max_days_open(months: tuple[int, ...]) -> int:
    """The longest window that still closes before the next round of the schedule opens.

    Two opening days `g` months apart are at least 28 * g - 6 days apart (a weekday in a given week of the month
    falls within the same 7 days of every month), so a window of 28 * g - 7 days always ends first."""
    return min(MAX_DAYS_OPEN, 28 * _min_month_gap(months) - 7)


def parse_spec(
    *,
    months: object = DEFAULTS["months"],
    week: object = DEFAULTS["week"],
    weekday: object = DEFAULTS["weekday"],
    open_time: object = DEFAULTS["open_time"],
    days_open: object = DEFAULTS["days_open"],
    reminder_days: object = DEFAULTS["reminder_days"],
    timezone: object = DEFAULTS["timezone"],
    lead_days: object = DEFAULTS["lead_days"],
) -> ScheduleSpec:
    """Check every field of a schedule, as typed in a form or on the command line, or as stored.

    Accepts months as "1,4,7,10", "jan,apr" or a list of numbers; weekday as 0..6 or a day name; week as 1..4,
    -1 or first..fourth, last; open_time as "HH:MM"; reminder_days as "5,10", "" or a list.
    Raises ScheduleError with a message for each wrong field.
    """
    errors: dict[str, str | None] = {}
    month_list, errors["months"] = _months(months)
    week_number, errors["week"] = _week(week)
    weekday_number, errors["weekday"] = _weekday(weekday)
    local_time, errors["open_time"] = _time(open_time)
    errors["timezone"] = _zone(timezone)
    days, errors["days_open"] = _days_open(days_open, month_list)
    reminders, errors["reminder_days"] = _reminders(reminder_days, days)
    lead = _whole_number(lead_days)
    if lead is None or not 0 <= lead <= MAX_LEAD_DAYS:
        errors["lead_days"] = f"give 0 to {MAX_LEAD_DAYS} days, not {lead_days!r}"
    problems = {field: message for field, message in errors.items() if message}
    if problems or days is None or lead is None:
        raise ScheduleError(problems)
    return ScheduleSpec(
        months=month_list,
        week=week_number,
        weekday=weekday_number,
        open_time=local_time,
        days_open=days,
        reminder_days=tuple(sorted(reminders)),
        timezone=str(timezone).strip(),
        lead_days=lead,
    )


def _days_open(value: object, months: tuple[int, ...]) -> tuple[int | None, str | None]:
    days = _whole_number(value)
    if days is None or days < 1:
        return None, f"a round stays open at least 1 day; give a whole number of days, not {value!r}"
    if months and days > max_days_open(months):
        return days, (
            f"a round must close before the next one opens: with these months it stays open at most "
            f"{max_days_open(months)} days, not {days}"
        )
    return days, None


def _reminders(value: object, days: int | None) -> tuple[list[int], str | None]:
    """Reminder days after opening, each inside a round open `days` days (when that is known)."""
    reminders: list[int] = []
    for token in _list(value):
        day = _whole_number(token)
        if day is None:
            return reminders, f"{token!r} is not a day number: give days after opening, e.g. 5,10"
        if day in reminders:
            return reminders, f"day {day} is listed twice"
        if days is not None and not 1 <= day < days:
            inside = f"days 1 to {days - 1}" if days > 1 else "no day (it is open for one day only)"
            return (
                reminders,
                f"day {day} is outside the window: a {days}-day round can send reminders on {inside}",
            )
        reminders.append(day)
    return reminders, None


# --- occurrences ------------------------------------------------------------------------------------------------


def opening_day(spec: ScheduleSpec, year: int, month: int) -> date:
    """The local date a round opens in the given month, e.g. the first Monday of January 2027."""
    if spec.week == -1:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return last - timedelta(days=(last.weekday() - spec.weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(spec.weekday - first.weekday()) % 7 + 7 * (spec.week - 1))


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """A local wall-clock time as a UTC instant. A time skipped by daylight saving moves forward by the gap; a
    time that happens twice means its first occurrence."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def window(spec: ScheduleSpec, year: int, month: int) -> Window:
    """The round a schedule opens in the given month (which must be one of its months)."""
    if month not in spec.months:
        raise ValueError(f"the schedule opens no round in {MONTHS[month - 1]}")
    day, zone = opening_day(spec, year, month), spec.zone
    name = f"{year} Q{(month - 1) // 3 + 1}" if spec.quarterly else f"{year}-{month:02d}"
    return Window(
        period=f"{year}-{month:02d}",
        name=name,
        opens_at=local_instant(day, spec.open_time, zone),
        closes_at=local_instant(day + timedelta(days=spec.days_open), spec.open_time, zone),
        reminders_at=tuple(
            local_instant(day + timedelta(days=d), spec.open_time, zone) for d in spec.reminder_days
        ),
    )


def windows_between(spec: ScheduleSpec, start: datetime, end: datetime) -> list[Window]:
    """The schedule's rounds that open at or after `start` and before `end` (aware datetimes), in order."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("give aware datetimes")
    # Local dates differ from UTC dates by at most a day: look one month either side, then filter exactly.
    first, end_utc = start.astimezone(UTC), end.astimezone(UTC)
    year, month = (first.year, first.month - 1) if first.month > 1 else (first.year - 1, 12)
    last = (end_utc.year, end_utc.month + 1) if end_utc.month < 12 else (end_utc.year + 1, 1)
    found = []
    while (year, month) <= last:
        if month in spec.months:
            candidate = window(spec, year, month)
            if start <= candidate.opens_at < end:
                found.append(candidate)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def next_window(spec: ScheduleSpec, after: datetime) -> Window:
    """The first round that opens at or after `after`."""
    return windows_between(spec, after, after + timedelta(days=400))[0]


# --- description ------------------------------------------------------------------------------------------------


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def describe(spec: ScheduleSpec) -> str:
    """One line for people, e.g. "first Monday of Jan, Apr, Jul, Oct at 09:00 Europe/Berlin, open 14 days,
    reminders on days 5 and 10"."""
    months = (
        "of every month" if len(spec.months) == 12 else "of " + ", ".join(MONTHS[m - 1] for m in spec.months)
    )
    days = "1 day" if spec.days_open == 1 else f"{spec.days_open} days"
    if not spec.reminder_days:
        reminders = "no reminders"
    elif len(spec.reminder_days) == 1:
        reminders = f"a reminder on day {spec.reminder_days[0]}"
    else:
        reminders = f"reminders on days {_and([str(d) for d in spec.reminder_days])}"
    return (
        f"{WEEKS[spec.week]} {WEEKDAYS[spec.weekday]} {months} at {spec.open_time:%H:%M} {spec.timezone}, "
        f"open {days}, {reminders}"
    )
