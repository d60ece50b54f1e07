"""Targets: the goal for a metric on a scope over a period."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.metrics_api.schemas.common import VALUE_DESCRIPTION, Audience, Metric, OpaqueId, QuestionKey
from shared.schemas.common import Name, UnitPath


class TargetCreate(BaseModel):
    """A new goal for a metric on a scope over an inclusive period; the range of `value` depends on `metric`."""

    model_config = ConfigDict(extra="forbid")

    metric: Metric
    audience: Audience = Field(default="customers", description="Whose answers: customers or employees")
    unit: UnitPath | None = Field(
        default=None,
        description="The unit path (the goal of its whole subtree, unless a deeper unit has its own); null: the org",
    )
    survey_id: OpaqueId | None = None
    touchpoint_id: OpaqueId | None = None
    question: QuestionKey | None = Field(
        default=None, description="A question key; a target of no question applies to every question of the metric"
    )
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
    audience: Audience
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
