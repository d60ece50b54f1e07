"""Business-hours arithmetic: pure functions over an org's working days and local opening hours.

Opening hours are wall-clock times in the org's time zone, so a window is resolved per local date to two
UTC instants: a window that spans a DST change is as long as the clock says, not eight hours by fiat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from services.loop_api.org_settings import BusinessHours

# The longest SLA is a year (8760 h) of business hours and every week has at least one open hour
# (settings validation), so the walk ends within this many days; the slack covers DST-shortened days.
MAX_DAYS = 7 * 24 * 365 + 400


def _window(day: dt.date, hours: BusinessHours, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC instants at which `day` opens and closes (local wall-clock times of the org)."""
    opens = dt.datetime.combine(day, hours.start.replace(tzinfo=None), tzinfo=zone)
    closes = dt.datetime.combine(day, hours.end.replace(tzinfo=None), tzinfo=zone)
    return opens.astimezone(dt.UTC), closes.astimezone(dt.UTC)


def windows_from(start: dt.datetime, hours: BusinessHours) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The open windows (UTC) that end after `start`, in order; the first is cut to begin at `start`."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    zone = ZoneInfo(hours.timezone)
    start = start.astimezone(dt.UTC)
    day = start.astimezone(zone).date()
    for _ in range(MAX_DAYS):
        if day.isoweekday() in hours.days:
            opens, closes = _window(day, hours, zone)
            if closes > start:
                yield max(opens, start), closes
        day += dt.timedelta(days=1)


def add_business_hours(start: dt.datetime, hours: float, business_hours: BusinessHours) -> dt.datetime:
    """The instant (UTC) when `hours` of business time have passed after `start`.

    Time outside the open windows does not count. A result that lands exactly on closing time stays
    there (due Friday 17:00, not Monday 09:00); with `hours == 0` it is the next open instant.
    """
    if hours < 0:
        raise ValueError("hours must not be negative")
    remaining = dt.timedelta(hours=hours)
    for opens, closes in windows_from(start, business_hours):
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
    raise ValueError("hours beyond the supported range of business time")


def business_hours_between(start: dt.datetime, end: dt.datetime, business_hours: BusinessHours) -> float:
    """How many business hours lie between two instants (0 when `end` is not after `start`)."""
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    total = dt.timedelta()
    for opens, closes in windows_from(start, business_hours):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total / dt.timedelta(hours=1)
