"""loop_api's per-org settings: business hours and the default SLA."""

from __future__ import annotations

import datetime as dt
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class BusinessHours(BaseModel):
    """When the org works cases: weekdays (1 = Monday) and local opening hours in a time zone."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(default="UTC", max_length=64)
    days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], min_length=1, max_length=7)
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(17, 0)

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
