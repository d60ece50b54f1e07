"""A scorecard: the few numbers a unit's manager looks at, in one small cacheable answer."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from services.metrics_api.schemas.common import Audience
from services.metrics_api.schemas.metrics import Interval, PeriodOut, PreviousValue
from services.metrics_api.schemas.to_target import ToTarget
from shared.schemas.plans import PlanEffect


class ScorecardTarget(BaseModel):
    """The active target of the metric on this unit and whether the current value meets it."""

    value: float
    met: bool | None
    to_target: ToTarget | None = Field(default=None, description="nps, csat: how many answers must move to reach it")


class ScorecardMetric(BaseModel):
    """One metric of the current period, against the previous one."""

    value: float | None
    n: int | None = Field(description="Null for employees below the minimum sample")
    ci: Interval | None
    previous: PreviousValue
    change: float | None
    p_value: float | None
    significant: bool
    scale_min: int | None = Field(default=None, description="CSAT/CES: the scale reported (the most answered one)")
    scale_max: int | None = None
    mean: float | None = Field(default=None, description="emotion: the mean score 1-5 (value is % positive)")
    target: ScorecardTarget | None = None


class TrendPoint(BaseModel):
    """NPS of one ISO week (Monday first) in the org's time zone."""

    week: dt.date
    value: float | None
    n: int | None = Field(description="Null for employees below the minimum sample")


class ReasonCount(BaseModel):
    """A reason code and how many responses of the period cited it."""

    code: str
    count: int
    points_lost: float | None = Field(
        default=None,
        description="NPS points the code costs: (cited/n)·(NPS of the others - NPS of those citing it), over the "
        "NPS answers in scope of every survey; null below the minimum sample",
    )


class ScorecardPlan(BaseModel):
    """An active action plan touching the unit, from loop_api."""

    id: str
    title: str
    status: str
    owner: str
    starts_on: dt.date
    overdue_tasks: int = Field(description="Its tasks past their due day and not done")
    latest_effect: PlanEffect | None = Field(
        default=None,
        description="Its latest measured effect (measured daily; null until then, for a plan on the whole org, "
        "and for a unit-restricted caller)",
    )


class ScorecardCases(BaseModel):
    """The closed loop over the same units and period, from loop_api: cases opened, SLA kept, customers saved."""

    opened: int = Field(description="Cases opened in the period")
    first_contacts: int = Field(description="Of those, cases whose customer was reached")
    median_hours_to_first_contact: float | None
    first_contact_within_sla_rate: float | None = Field(description="Share 0..1 of decided first contacts in time")
    resolved_within_sla_rate: float | None = Field(description="Share 0..1 of decided resolutions in time")
    saved: int = Field(description="Detractors who answered again as passives or promoters after their case")
    saved_rate: float | None = Field(description="saved / follow-up answers")
    active_plans: list[ScorecardPlan] | None = Field(
        default=None, description="The active action plans touching the unit (null: loop_api did not say)"
    )


class Scorecard(BaseModel):
    """NPS, CSAT and CES (effort), success and emotion of the last `days` days with the previous period, a
    12-week NPS trend, targets, the response count, the top 5 reasons, and the case figures of the same period.
    """

    unit: str | None
    days: int
    audience: Audience = Field(description="Whose answers: customers or employees (follow-up answers never count)")
    period: PeriodOut
    previous_period: PeriodOut
    responses: int | None = Field(
        description="Finished responses with at least one scored answer in the period; null for employees below"
        " the minimum sample (then `top_reasons` is empty)"
    )
    nps: ScorecardMetric
    csat: ScorecardMetric
    ces: ScorecardMetric = Field(description="Effort: the mean CES score")
    success: ScorecardMetric = Field(
        description="The success rate 100·(yes + 0.5·partly)/n with its t interval (success questions)"
    )
    emotion: ScorecardMetric = Field(
        description="% positive (4-5 of the 1-5 emotion scale) with its Wilson interval; the change is in points"
        " (two-proportion test); `mean` beside it"
    )
    experience: str = Field(
        description="Success, effort and emotion in one line: `success 82 %, effort 5.6, emotion 71 % positive`"
        " (`n/a` for a part below the minimum sample)"
    )
    trend: list[TrendPoint]
    top_reasons: list[ReasonCount]
    cases: ScorecardCases | None = Field(
        default=None, description="From loop_api; null when it did not answer in time (then `degraded` says so)"
    )
    degraded: list[str] = Field(
        default_factory=list, description="Parts left out because another service did not answer: `cases`"
    )
