"""Field types that several services' wire models share."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, StringConstraints

UNIT_SEGMENT = r"[a-z0-9][a-z0-9_-]{0,62}"
UNIT_PATH_PATTERN = rf"^{UNIT_SEGMENT}(/{UNIT_SEGMENT}){{0,9}}$"

UnitPath = Annotated[
    str,
    StringConstraints(pattern=UNIT_PATH_PATTERN, max_length=255),
]
"""A unit's materialised path: up to 10 lowercase segments joined by `/`, e.g. `emea/de/berlin-01`."""

EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def _sane_instant(value: dt.datetime) -> dt.datetime:
    try:
        in_utc = value.astimezone(dt.UTC)
    except OverflowError as exc:  # 9999-12-31T23:59:59-14:00 is past the last representable UTC instant
        raise ValueError("is out of range once converted to UTC") from exc
    if not EARLIEST <= in_utc < LATEST:
        raise ValueError(f"must lie between {EARLIEST.year} and {LATEST.year} (UTC)")
    return value


Instant = Annotated[AwareDatetime, AfterValidator(_sane_instant)]
"""A point in time with an offset, between 1900 and 9000 in UTC (absurd dates are a 422, never an overflow)."""

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
"""A human-readable name."""


def parent_of(path: str) -> str | None:
    """The parent path of a unit (`emea/de` for `emea/de/berlin-01`), or None for a root."""
    head, _, _ = path.rpartition("/")
    return head or None


Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$", max_length=6)]
"""A language tag: `en`, `de`, `pt-BR`."""

Channel = Literal["link", "email", "sms", "web", "in_app", "phone", "api"]
"""How a response reached us: the distribution channels, plus `phone` (an agent keyed it) and `api`."""
