"""metrics_api's request and response models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.schemas.common import Name, UnitPath

Metric = Literal["nps", "csat", "ces", "response_rate"]
OpaqueId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
QuestionKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]

VALUE_DESCRIPTION = (
    "The goal: nps -100..100; csat 0..100 (percent satisfied); response_rate 0..100 (percent); "
    "ces 1..7 on the default scale, but any 0..10 is accepted for orgs that use another CES scale"
)


class MetricsOrgSettings(BaseModel):
    """metrics_api's per-org settings."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone of the day buckets")
    min_sample: int = Field(default=5, ge=1, le=1000, description="Below this n a metric is reported as null")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones() and value != "UTC":
            raise ValueError(f"unknown IANA time zone {value!r}")
        ZoneInfo(value)
        return value


class TargetCreate(BaseModel):
    """A new goal for a metric on a scope over an inclusive period; the range of `value` depends on `metric`."""

    model_config = ConfigDict(extra="forbid")

    metric: Metric
    unit: UnitPath | None = Field(default=None, description="The unit path; null means the whole org")
    survey_id: OpaqueId | None = None
    touchpoint_id: OpaqueId | None = None
    question: QuestionKey | None = Field(default=None, description="A question key of the survey")
    value: float = Field(allow_inf_nan=False, description=VALUE_DESCRIPTION)
    period_start: dt.date = Field(description="First day of the period (inclusive)")
    period_end: dt.date = Field(description="Last day of the period (inclusive), not before `period_start`")
    name: Name | None = None


class TargetUpdate(BaseModel):
    """A partial change of a target: fields left out stay as they are; `name: null` clears the name."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    value: float | None = Field(default=None, allow_inf_nan=False, description=VALUE_DESCRIPTION)
    period_start: dt.date | None = None
    period_end: dt.date | None = None

    @field_validator("value", "period_start", "period_end")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only called for fields the client sent: leaving one out keeps it, but null cannot clear it.
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class TargetPublic(BaseModel):
    """A target as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    metric: Metric
    unit: str | None
    survey_id: str | None
    touchpoint_id: str | None
    question: str | None
    value: float
    period_start: dt.date
    period_end: dt.date
    name: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
