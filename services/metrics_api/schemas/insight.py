"""Insight answers: key drivers, reason impact (NPS+) and what it takes to reach a target."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from services.metrics_api.schemas.common import Audience
from services.metrics_api.schemas.metrics import PeriodOut

Quadrant = Literal["fix", "maintain", "secondary", "overinvested"]


class WeightInterval(BaseModel):
    """A bootstrap percentile interval of a weight, in % of R²."""

    low: float | None
    high: float | None
    level: float = Field(description="The confidence level: 0.95")


class Driver(BaseModel):
    """One rated attribute of the survey and how much of the outcome it explains."""

    question: str = Field(description="The attribute's question key")
    kind: str = Field(description="rating, csat, ces, success (no 0, partly 1, yes 2) or emotion (1-5)")
    weight_pct: float | None = Field(
        default=None, description="Johnson's relative weight in % of R² (all add up to 100); null with correlations"
    )
    weight_ci: WeightInterval | None = Field(
        default=None, description="Bootstrap 95 % interval of weight_pct; null for a constant attribute"
    )
    overlaps_next: bool | None = Field(
        default=None,
        description="Its interval overlaps the next driver's: the order of the two is not certain",
    )
    correlation: float | None = Field(description="Pearson correlation with the outcome; null if either is constant")
    mean: float = Field(description="The attribute's mean score over the n responses")
    top2_pct: float = Field(
        description="Percent of the n responses in the two highest points of its scale (success: `yes` alone)"
    )
    quadrant: Quadrant | None = Field(
        description="Importance (weight, or correlation with method=correlation) above/below the drivers' mean x "
        "top-2-box above/below the drivers' mean: fix (important, weak), maintain (important, strong), "
        "secondary (less important, weak), overinvested (less important, strong)"
    )


class DriversAnswer(BaseModel):
    """`GET /v1/drivers`."""

    outcome: str = Field(description="As asked: `nps` or a question key")
    outcome_question: str = Field(description="The question whose score is the outcome")
    survey_id: str
    unit: str | None
    period: PeriodOut
    audience: Audience = Field(description="Whose answers: customers or employees")
    min_sample: int
    method: Literal["relative_weights", "correlation"]
    reason: str | None = Field(
        default=None, description="Why only correlations (or nothing) are reported: too few responses, …"
    )
    n: int = Field(description="Responses in scope that answered the outcome and every attribute")
    min_n: int = Field(description="50 + 8·m: the n relative weights need")
    r2: float | None = Field(description="R² of the outcome on all attributes; null with correlations")
    resamples: int | None = Field(description="Bootstrap resamples behind weight_ci")
    drivers: list[Driver] = Field(description="Most important first")


class NpsInterval(BaseModel):
    """A 95 % interval, in NPS points."""

    low: float
    high: float
    level: float


class ReasonImpact(BaseModel):
    """One reason code: how often it was cited and the NPS points it costs."""

    code: str
    label: str | None = Field(default=None, description="The code's label in `language`; null when unknown")
    count: int | None = Field(
        description="Responses in scope with an NPS score that cite it; employees: null below the minimum sample"
    )
    share_pct: float | None = Field(description="100·count/n; null when count is")
    nps_with: float | None = Field(description="NPS of those citing it; null below the minimum sample")
    nps_without: float | None = Field(description="NPS of all others in scope; null below the minimum sample")
    points_lost: float | None = Field(description="(count/n)·(nps_without - nps_with)")
    points_lost_ci: NpsInterval | None = Field(
        description="95 % interval of points_lost (normal, share fixed, SE of each NPS: 100·sqrt((p + d - (p - d)²)/n))"
    )


class ReasonsAnswer(BaseModel):
    """`GET /v1/reasons`."""

    survey_id: str
    question: str
    unit: str | None
    period: PeriodOut
    min_sample: int
    audience: Audience = Field(description="Whose answers: customers or employees")
    n: int | None = Field(description="Responses in scope with an NPS score; employees: null below the minimum sample")
    nps: float | None
    source: Literal["rollups", "facts"] = Field(description="What answered: rollups, or a scan of the facts")
    items: list[ReasonImpact] = Field(description="Most points lost first (nulls last)")
    language: str | None = Field(
        default=None,
        description="The language of the labels: the first of Accept-Language the survey has, else its default",
    )
    degraded: list[str] = Field(
        default_factory=list, description="Parts left out because another service did not answer: `labels`"
    )
