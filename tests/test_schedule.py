"""Scheduling rules, as HR states them: which day a round opens, in which time zone, for how long, when reminders
go out; and what HR is told when a schedule cannot work."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survey.rounds.rules import (
    ScheduleError,
    describe,
    max_days_open,
    next_window,
    opening_day,
    parse_spec,
    window,
    windows_between,
)

UTC = UTC
# Zones with daylight saving in both hemispheres, half-hour offsets, far from UTC, and the date line.
ZONES = [
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",
    "America/Santiago",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
]


def test_the_default_is_quarterly_on_the_first_monday():
    spec = parse_spec(timezone="Europe/Berlin")
    assert describe(spec) == (
        "first Monday of Jan, Apr, Jul, Oct at 09:00 Europe/Berlin, open 14 days, reminders on days 5 and 10"
    )
    q1 = window(spec, 2027, 1)
    assert (q1.name, q1.period) == ("2027 Q1", "2027-01")
    # 4 January 2027 is a Monday; Berlin is UTC+1 in winter.
    assert q1.opens_at == datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    assert q1.closes_at == datetime(2027, 1, 18, 8, 0, tzinfo=UTC)
    assert q1.reminders_at == (
        datetime(2027, 1, 9, 8, 0, tzinfo=UTC),
        datetime(2027, 1, 14, 8, 0, tzinfo=UTC),
    )
    # In summer Berlin is UTC+2: still 09:00 local.
    assert window(spec, 2027, 7).opens_at == datetime(2027, 7, 5, 7, 0, tzinfo=UTC)


def test_other_rhythms_are_named_by_month_and_described():
    spec = parse_spec(months="jan,jul", week="last", weekday="fri", reminder_days="7", open_time="14:30")
    assert describe(spec) == "last Friday of Jan, Jul at 14:30 UTC, open 14 days, a reminder on day 7"
    h2 = window(spec, 2027, 7)
    assert (h2.name, h2.opens_at) == ("2027-07", datetime(2027, 7, 30, 14, 30, tzinfo=UTC))
    monthly = parse_spec(months=range(1, 13), reminder_days="", days_open=7)
    assert describe(monthly).startswith("first Monday of every month")
    assert describe(monthly).endswith("open 7 days, no reminders")


def test_a_round_open_across_the_change_to_summer_time_closes_at_the_same_local_hour():
    spec = parse_spec(months="3,6,9,12", week=3, weekday="mon", timezone="Europe/Berlin", days_open=21)
    march = window(spec, 2027, 3)  # opens 15 March (winter time), closes 5 April (summer time)
    assert march.opens_at == datetime(2027, 3, 15, 8, 0, tzinfo=UTC)
    assert march.closes_at == datetime(2027, 4, 5, 7, 0, tzinfo=UTC)
    assert march.closes_at - march.opens_at == timedelta(days=21, hours=-1)


def test_an_opening_time_skipped_by_the_clocks_moves_forward_and_a_repeated_one_means_the_first():
    # Berlin skips 02:00-03:00 on the last Sunday of March and repeats 02:00-03:00 on the last Sunday of October.
    spring = parse_spec(months="3", week="last", weekday="sun", open_time="02:30", timezone="Europe/Berlin")
    opens = window(spring, 2027, 3).opens_at
    assert opens.astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None) == datetime(2027, 3, 28, 3, 30)
    autumn = parse_spec(months="10", week="last", weekday="sun", open_time="02:30", timezone="Europe/Berlin")
    assert window(autumn, 2027, 10).opens_at == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30 CEST


def test_a_round_opening_on_new_years_day_east_of_utc_is_found_from_the_utc_end_of_the_year():
    spec = parse_spec(
        months="1", week=1, weekday=datetime(2027, 1, 1).weekday(), timezone="Pacific/Kiritimati"
    )
    found = windows_between(spec, datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert [w.period for w in found] == ["2027-01"]  # 1 Jan 09:00 at UTC+14 is 31 Dec 19:00 UTC
    assert next_window(spec, datetime(2026, 12, 31, 20, tzinfo=UTC)).period == "2028-01"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"months": ""}, "months", "name at least one month"),
        ({"months": "1,13"}, "months", "'13' is not a month"),
        ({"months": "4,april"}, "months", "Apr is listed twice"),
        ({"week": 5}, "week", "use 1 to 4 (first to fourth week of the month) or -1 (last)"),
        ({"week": "0"}, "week", "not '0'"),
        ({"weekday": "funday"}, "weekday", "use a day name (mon to sun) or 0 (Monday) to 6 (Sunday)"),
        ({"weekday": 7}, "weekday", "not 7"),
        ({"weekday": "t"}, "weekday", "not 't'"),  # Tuesday or Thursday?
        ({"open_time": "24:00"}, "open_time", "use a 24-hour time HH:MM"),
        ({"open_time": "9"}, "open_time", "not '9'"),
        ({"days_open": 0}, "days_open", "at least 1 day"),
        ({"days_open": "two weeks"}, "days_open", "give a whole number of days"),
        ({"days_open": 80}, "days_open", "at most 77 days, not 80"),
        ({"months": "1,2", "days_open": 22}, "days_open", "at most 21 days"),
        ({"reminder_days": "5,14"}, "reminder_days", "day 14 is outside the window: a 14-day round"),
        ({"reminder_days": "0"}, "reminder_days", "can send reminders on days 1 to 13"),
        ({"reminder_days": "5,5"}, "reminder_days", "day 5 is listed twice"),
        ({"reminder_days": "soon"}, "reminder_days", "'soon' is not a day number"),
        ({"days_open": 1, "reminder_days": "1"}, "reminder_days", "on no day (it is open for one day only)"),
        ({"timezone": "Europe/Berln"}, "timezone", "unknown time zone 'Europe/Berln': use an IANA name"),
        ({"timezone": ""}, "timezone", "name the organisation's time zone"),
        ({"timezone": "../../etc/passwd"}, "timezone", "unknown time zone"),
        ({"lead_days": -1}, "lead_days", "give 0 to 366 days"),
    ],
)
def test_a_wrong_field_is_named_with_what_it_accepts(fields, field, message):
    with pytest.raises(ScheduleError) as raised:
        parse_spec(**fields)
    assert field in raised.value.errors, raised.value.errors
    assert message in raised.value.errors[field]
    assert set(raised.value.errors) == {field}  # the other fields are fine and not blamed


def test_every_wrong_field_is_reported_at_once():
    with pytest.raises(ScheduleError) as raised:
        parse_spec(months="x", week=9, weekday="x", open_time="x", days_open=0, timezone="x", lead_days="x")
    assert set(raised.value.errors) == {
        "months",
        "week",
        "weekday",
        "open_time",
        "days_open",
        "timezone",
        "lead_days",
    }


def test_values_are_read_leniently_and_stored_plainly():
    spec = parse_spec(
        months=" 10; 1 , 4 7", week="first", weekday="Thursday", open_time=" 7:05 ", reminder_days=[10, 3]
    )
    assert spec.fields() == {
        "months": "1,4,7,10",
        "week": 1,
        "weekday": 3,
        "open_time": "07:05",
        "days_open": 14,
        "reminder_days": "3,10",
        "timezone": "UTC",
        "lead_days": 28,
    }
    assert parse_spec(**spec.fields()) == spec


# --- properties ---------------------------------------------------------------------------------------------------

ALL_ZONES = sorted(available_timezones() - {"Factory", "localtime"})
ANY_ZONE = st.sampled_from(ZONES) | st.sampled_from(ALL_ZONES)
SOME_ZONES = st.sampled_from(ZONES)


@st.composite
def specs(draw, zones=ANY_ZONE):
    months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=12, unique=True))
    days_open = draw(st.integers(1, max_days_open(tuple(sorted(months)))))
    reminders = draw(st.lists(st.integers(1, max(1, days_open - 1)), max_size=3, unique=True))
    return parse_spec(
        months=months,
        week=draw(st.sampled_from([1, 2, 3, 4, -1])),
        weekday=draw(st.integers(0, 6)),
        open_time=draw(st.times()).strftime("%H:%M"),
        days_open=days_open,
        reminder_days=reminders if days_open > 1 else [],
        timezone=draw(zones),
        lead_days=draw(st.integers(0, 90)),
    )


def _gap_at(zone: ZoneInfo, moment: datetime) -> timedelta:
    """How far the clocks jumped forward around `moment` (zero if they did not)."""
    before = (moment - timedelta(hours=26)).astimezone(zone).utcoffset()
    after = (moment + timedelta(hours=26)).astimezone(zone).utcoffset()
    return max(after - before, timedelta(0))


@settings(max_examples=300, deadline=None)
@given(spec=specs(), year=st.integers(2025, 2060))
def test_every_round_opens_on_the_chosen_day_at_the_local_time(spec, year):
    zone = spec.zone
    for month in spec.months:
        w = window(spec, year, month)
        local = w.opens_at.astimezone(zone)
        day = opening_day(spec, year, month)
        assert (day.year, day.month, day.weekday()) == (year, month, spec.weekday)
        if spec.week == -1:
            assert (day + timedelta(days=7)).month != month  # the last such weekday of the month
        else:
            assert (day.day - 1) // 7 + 1 == spec.week
        wanted = datetime.combine(day, spec.open_time)
        shift = local.replace(tzinfo=None) - wanted
        # The local time is the chosen one, unless the clocks skipped it: then it moved forward by the jump.
        assert shift == timedelta(0) or timedelta(0) < shift <= _gap_at(zone, w.opens_at), (local, wanted)


@settings(max_examples=300, deadline=None)
@given(spec=specs(), year=st.integers(2025, 2060))
def test_reminders_fall_inside_the_window_and_rounds_never_overlap(spec, year):
    found = windows_between(spec, datetime(year, 1, 1, tzinfo=UTC), datetime(year + 2, 1, 1, tzinfo=UTC))
    assert [w.opens_at for w in found] == sorted(w.opens_at for w in found)
    assert len({w.period for w in found}) == len(found)
    for w in found:
        assert all(w.opens_at < r < w.closes_at for r in w.reminders_at)
        assert list(w.reminders_at) == sorted(w.reminders_at)
        # Open for days_open local days: in UTC that is within the size of a clock change.
        assert abs(w.closes_at - w.opens_at - timedelta(days=spec.days_open)) <= timedelta(hours=3)
        local_open, local_close = w.opens_at.astimezone(spec.zone), w.closes_at.astimezone(spec.zone)
        assert (local_close.date() - local_open.date()).days == spec.days_open
    for earlier, later in pairwise(found):
        assert earlier.closes_at < later.opens_at


@settings(max_examples=200, deadline=None)
@given(
    spec=specs(zones=SOME_ZONES),
    start=st.datetimes(datetime(2025, 1, 1), datetime(2060, 1, 1), timezones=st.just(UTC)),
    span=st.timedeltas(timedelta(0), timedelta(days=800)),
)
def test_windows_between_finds_exactly_the_rounds_opening_in_the_range(spec, start, span):
    end = start + span
    found = windows_between(spec, start, end)
    assert all(start <= w.opens_at < end for w in found)
    expected = [
        window(spec, year, month)
        for year in range(start.year - 1, end.year + 2)
        for month in spec.months
        if start <= window(spec, year, month).opens_at < end
    ]
    assert found == expected


def test_max_days_open_leaves_room_before_the_next_round_in_the_worst_month():
    # February of a non-leap year: the first Monday can be the 7th, and the first of March is then a Monday too.
    monthly = parse_spec(months=range(1, 13), days_open=max_days_open(tuple(range(1, 13))), reminder_days="")
    for year in range(2025, 2054):
        found = windows_between(
            monthly, datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
        )
        assert all(a.closes_at < b.opens_at for a, b in pairwise(found))
    assert parse_spec(months="1", days_open=max_days_open((1,))).days_open == 12 * 28 - 7
    assert time(9) == parse_spec().open_time
