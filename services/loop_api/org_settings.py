"""loop_api's per-org settings: business hours and the default SLA."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

# A wall-clock time of the business hours' own time zone: "09:00" or "09:00:00", never with an offset
# (JSON Schema's `time` format demands one, so the schema says what we really accept and send).
LocalTime = Annotated[
    dt.time,
    WithJsonSchema(
        {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", "examples": ["09:00"]}
    ),
]


class BusinessHours(BaseModel):
    """When the org works cases: weekdays (1 = Monday) and local opening hours in a time zone."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(default="UTC", max_length=64)
    days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], min_length=1, max_length=7)
    start: LocalTime = dt.time(9, 0)
    end: LocalTime = dt.time(17, 0)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _wall_clock(cls, value: object) -> object:
        # Numbers (seconds) and offsets would give times that cannot be compared or placed in the zone.
        if isinstance(value, dt.time) and value.tzinfo is None:
            return value
        if not isinstance(value, str) or "+" in value or value.endswith(("Z", "z")) or value.count("-"):
            raise ValueError('a wall-clock time like "09:00", without an offset')
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones() and value != "UTC":
            raise ValueError(f"unknown IANA time zone {value!r}")
        return value

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(d < 1 or d > 7 for d in value) or len(set(value)) != len(value):
            raise ValueError("days are distinct ISO weekdays, 1 (Monday) to 7 (Sunday)")
        return sorted(value)

    @model_validator(mode="after")
    def _start_before_end(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        opens = dt.datetime.combine(dt.date(2000, 1, 1), self.start.replace(tzinfo=None))
        if dt.datetime.combine(dt.date(2000, 1, 1), self.end.replace(tzinfo=None)) - opens < dt.timedelta(hours=1):
            # Keeps SLA arithmetic bounded: a year of business hours fits in about 170 years of calendar.
            raise ValueError("the business day must be at least one hour long")
        return self


class LoopOrgSettings(BaseModel):
    """loop_api's per-org settings."""

    model_config = ConfigDict(extra="forbid")

    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    default_sla_first_contact_hours: int = Field(default=48, ge=1, le=24 * 90)
    default_sla_resolution_hours: int = Field(default=168, ge=1, le=24 * 365)

    @model_validator(mode="after")
    def _resolution_after_first_contact(self) -> LoopOrgSettings:
        if self.default_sla_resolution_hours < self.default_sla_first_contact_hours:
            raise ValueError("default_sla_resolution_hours must be at least default_sla_first_contact_hours")
        return self
