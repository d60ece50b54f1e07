"""`add_business_hours`: weekends, before and after hours, closing time, DST in Europe/Berlin, bounds."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from pydantic import ValidationError

from services.loop_api.cases.business_hours import add_business_hours, business_hours_between
from services.loop_api.org_settings import BusinessHours

UTC_OFFICE = BusinessHours()  # Monday to Friday, 09:00-17:00 UTC
BERLIN = BusinessHours(timezone="Europe/Berlin")
BERLIN_NIGHTS = BusinessHours(timezone="Europe/Berlin", days=[1, 2, 3, 4, 5, 6, 7], start="01:00", end="05:00")


def utc(day: int, hour: float, month: int = 3, year: int = 2026) -> dt.datetime:
    """An instant of 2026 in UTC (2 March 2026 is a Monday)."""
    return dt.datetime(year, month, day, tzinfo=dt.UTC) + dt.timedelta(hours=hour)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (utc(2, 10), 3, utc(2, 13)),  # inside one day
        (utc(2, 15), 4, utc(3, 11)),  # over closing time into the next morning
        (utc(2, 9), 8, utc(2, 17)),  # exactly a day: closing time, not the next opening
        (utc(2, 16), 1, utc(2, 17)),  # lands exactly on closing time
        (utc(2, 6), 1, utc(2, 10)),  # before opening: the clock starts at 09:00
        (utc(2, 20), 1, utc(3, 10)),  # after hours: the next morning
        (utc(6, 16), 2, utc(9, 10)),  # Friday afternoon to Monday
        (utc(7, 12), 1, utc(9, 10)),  # Saturday: Monday
        (utc(8, 23.5), 1, utc(9, 10)),  # late Sunday: Monday
        (utc(2, 9), 48, utc(9, 17)),  # six business days: Monday to next Monday evening
        (utc(2, 16.5), 0.75, utc(3, 9.25)),  # fractions of an hour
        (utc(2, 17), 1, utc(3, 10)),  # starting at closing time
        (utc(7, 12), 0, utc(9, 9)),  # no hours: the next open instant
        (utc(2, 10), 0, utc(2, 10)),  # … which, while open, is now
    ],
)
def test_utc_office(start: dt.datetime, hours: float, due: dt.datetime) -> None:
    assert add_business_hours(start, hours, UTC_OFFICE) == due


def test_result_is_utc_whatever_the_offset_of_start() -> None:
    start = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))  # = 10:00 UTC
    due = add_business_hours(start, 3, UTC_OFFICE)
    assert due == utc(2, 13)
    assert due.utcoffset() == dt.timedelta(0)


def test_saturday_as_a_working_day() -> None:
    six_days = BusinessHours(days=[1, 2, 3, 4, 5, 6])
    assert add_business_hours(utc(7, 10), 1, six_days) == utc(7, 11)
    assert add_business_hours(utc(7, 16), 2, six_days) == utc(9, 10)  # Sunday is still off


def test_berlin_winter_time_is_utc_plus_one() -> None:
    assert add_business_hours(utc(2, 8), 8, BERLIN) == utc(2, 16)  # 09:00-17:00 CET


def test_berlin_spring_forward_over_the_weekend() -> None:
    # Friday 27 March 16:00 CET + 2 h: one hour on Friday, one on Monday 30 March from 09:00 CEST (07:00 UTC).
    assert add_business_hours(utc(27, 15), 2, BERLIN) == utc(30, 8)


def test_berlin_fall_back_over_the_weekend() -> None:
    # Friday 23 October 16:00 CEST + 2 h: Monday 26 October 10:00 CET is 09:00 UTC.
    assert add_business_hours(utc(23, 14, month=10), 2, BERLIN) == utc(26, 9, month=10)


def test_window_across_the_spring_gap_is_three_real_hours() -> None:
    # Sunday 29 March 01:00-05:00 local lasts 3 h (02:00 does not exist): 4 h end on Monday 30 at 02:00 CEST.
    assert add_business_hours(utc(28, 4), 3, BERLIN_NIGHTS) == utc(29, 3)
    assert add_business_hours(utc(28, 4), 4, BERLIN_NIGHTS) == utc(30, 0)


def test_window_across_the_autumn_fold_is_five_real_hours() -> None:
    # Sunday 25 October 01:00 CEST (Saturday 23:00 UTC) to 05:00 CET (04:00 UTC): 02:00-03:00 happens twice.
    start = utc(24, 3, month=10)  # Saturday 05:00 CEST, after that night's window
    assert add_business_hours(start, 5, BERLIN_NIGHTS) == utc(25, 4, month=10)
    assert add_business_hours(start, 4.5, BERLIN_NIGHTS) == utc(25, 3.5, month=10)
    assert business_hours_between(utc(24, 23, month=10), utc(25, 4, month=10), BERLIN_NIGHTS) == 5


def test_between_inverts_add() -> None:
    shuffled = random.Random(7)
    for settings in (UTC_OFFICE, BERLIN, BERLIN_NIGHTS):
        for _ in range(200):
            start = utc(1, 0) + dt.timedelta(minutes=shuffled.randrange(0, 60 * 24 * 365))
            hours = shuffled.choice([0.25, 1, 7.5, 8, 24, 48, 100])
            due = add_business_hours(start, hours, settings)
            assert business_hours_between(start, due, settings) == pytest.approx(hours)
    assert business_hours_between(utc(3, 10), utc(2, 10), UTC_OFFICE) == 0


def test_a_year_of_one_hour_weeks_ends() -> None:
    sparse = BusinessHours(days=[3], start="09:00", end="10:00")
    due = add_business_hours(utc(2, 0), 24 * 365, sparse)
    assert due == utc(4, 9) + dt.timedelta(weeks=24 * 365 - 1, hours=1)


def test_rejects_negative_hours_and_naive_start() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_hours(utc(2, 10), -1, UTC_OFFICE)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_hours(dt.datetime(2026, 3, 2, 10), 1, UTC_OFFICE)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"start": "17:00", "end": "09:00"}, "start must be before end"),
        ({"start": "09:00", "end": "09:30"}, "at least one hour"),
        ({"days": [0]}, "ISO weekdays"),
        ({"days": [1, 1]}, "ISO weekdays"),
        ({"timezone": "Mars/Olympus"}, "unknown IANA time zone"),
    ],
)
def test_invalid_business_hours(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BusinessHours.model_validate(fields)


@pytest.mark.parametrize("bad", [362, "09:00+02:00", "17:00Z", [[]], None])
def test_business_hours_take_wall_clock_times_only(bad: object) -> None:
    from pydantic import ValidationError

    from services.loop_api.org_settings import BusinessHours

    with pytest.raises(ValidationError, match="wall-clock"):
        BusinessHours.model_validate({"start": "09:00", "end": bad})
