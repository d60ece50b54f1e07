"""Periods of a metrics request: days of the org's time zone, or instants when the caller gives datetimes.

`from` and `to` take a date (`2026-03-01`) or a datetime with an offset (`2026-03-01T08:00:00+01:00`).
Two dates are whole days in the org's time zone, both inclusive. With a datetime the period is the
half-open instant range [from, to) — a date `from` then means its midnight, a date `to` the midnight after it.
Without `from`/`to` the period is the last 30 days, today (in the org's time zone) included.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from shared.db import utcnow
from shared.errors import invalid

DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years: enough for any trend, and a bound on what one request aggregates
MAX_DAILY_BUCKETS = 400
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
BOUND_DESCRIPTION = "A date (org time zone, inclusive) or a datetime with offset (`from` inclusive, `to` exclusive)"


@dataclass(frozen=True)
class Period:
    """Inclusive days `first`..`last` of the org's time zone; `since`/`until` when bounded by instants."""

    first: dt.date
    last: dt.date
    zone: ZoneInfo
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @property
    def days(self) -> int:
        """How many days the period spans (instant periods: rounded up to whole days)."""
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period of equal length that ends where this one starts."""
        if self.since is not None and self.until is not None:
            length = self.until - self.since
            return instant_period(self.since - length, self.since, self.zone)
        shift = dt.timedelta(days=self.days)
        return replace(self, first=self.first - shift, last=self.last - shift)

    def describe(self) -> dict[str, str]:
        """`{from, to}` as the answer shows them: dates, or the instants of an instant period."""
        if self.since is not None and self.until is not None:
            return {"from": self.since.isoformat(), "to": self.until.isoformat()}
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def today(zone: ZoneInfo) -> dt.date:
    """Today's date in `zone`."""
    return utcnow().astimezone(zone).date()


def day_of(instant: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The date of an instant in `zone` (a naive instant is taken as UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    return instant.astimezone(zone).date()


def midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The instant `day` starts in `zone`, in UTC."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def instant_period(since: dt.datetime, until: dt.datetime, zone: ZoneInfo) -> Period:
    """The period [since, until) with the days it touches."""
    last = day_of(until - dt.timedelta(microseconds=1), zone)
    return Period(first=day_of(since, zone), last=last, zone=zone, since=since, until=until)


def parse_bound(raw: str, field: str) -> dt.date | dt.datetime:
    """A date or an offset-carrying datetime; 422 naming `field` otherwise."""
    try:
        if _DATE.match(raw):
            return dt.date.fromisoformat(raw)
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid(field, "must be a date (YYYY-MM-DD) or a datetime with an offset", "invalid_bound") from exc
    if value.tzinfo is None:
        raise invalid(field, "a datetime needs an offset (e.g. +00:00 or Z)", "naive_datetime")
    return value


def _instants(start: dt.date | None, end: dt.date | None, zone: ZoneInfo, days: int) -> tuple[dt.datetime, dt.datetime]:
    """[since, until) for bounds of which at least one is a datetime (a date bound covers its whole day)."""
    last_day = today(zone) if end is None else end
    until = end if isinstance(end, dt.datetime) else midnight(last_day + dt.timedelta(days=1), zone)
    if isinstance(start, dt.datetime):
        since = start
    elif start is not None:
        since = midnight(start, zone)
    else:
        since = until - dt.timedelta(days=days)
    return since, until


def resolve_period(raw_from: str | None, raw_to: str | None, zone: ZoneInfo, *, days: int = DEFAULT_DAYS) -> Period:
    """The period a request asks for (see the module docstring); 422 when reversed or longer than ten years."""
    start = parse_bound(raw_from, "from") if raw_from else None
    end = parse_bound(raw_to, "to") if raw_to else None
    if isinstance(start, dt.datetime) or isinstance(end, dt.datetime):
        since, until = _instants(start, end, zone, days)
        if until <= since:
            raise invalid("to", "must be after from", "period_reversed")
        period = instant_period(since, until, zone)
    else:
        last = end or today(zone)
        first = start or last - dt.timedelta(days=days - 1)
        if last < first:
            raise invalid("to", f"must not be before from ({first.isoformat()})", "period_reversed")
        period = Period(first=first, last=last, zone=zone)
    if period.days > MAX_DAYS:
        raise invalid("from", f"a period spans at most {MAX_DAYS} days", "period_too_long")
    return period


def bucket_of(day: dt.date, interval: str) -> dt.date:
    """The first day of the `day`/`week` (ISO, Monday)/`month` bucket that holds `day`."""
    if interval == "week":
        return day - dt.timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day
