"""A scorecard: the few numbers a unit's manager looks at, in one small cacheable answer."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from services.metrics_api.schemas.metrics import Interval, PeriodOut, PreviousValue


class ScorecardTarget(BaseModel):
    """The active target of the metric on this unit and whether the current value meets it."""

    value: float
    met: bool | None


class ScorecardMetric(BaseModel):
    """One metric of the current period, against the previous one."""

    value: float | None
    n: int
    ci: Interval | None
    previous: PreviousValue
    change: float | None
    p_value: float | None
    significant: bool
    scale_min: int | None = Field(default=None, description="CSAT/CES: the scale reported (the most answered one)")
    scale_max: int | None = None
    target: ScorecardTarget | None = None


class TrendPoint(BaseModel):
    """NPS of one ISO week (Monday first) in the org's time zone."""

    week: dt.date
    value: float | None
    n: int


class ReasonCount(BaseModel):
    """A reason code and how many responses of the period cited it."""

    code: str
    count: int


class Scorecard(BaseModel):
    """NPS, CSAT and CES of the last `days` days with the previous period, a 12-week NPS trend, targets,
    the response count and the top 5 reasons.
    """

    unit: str | None
    days: int
    period: PeriodOut
    previous_period: PeriodOut
    responses: int = Field(description="Finished responses with at least one scored answer in the period")
    nps: ScorecardMetric
    csat: ScorecardMetric
    ces: ScorecardMetric
    trend: list[TrendPoint]
    top_reasons: list[ReasonCount]
