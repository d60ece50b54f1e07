"""Metric answers: a value with its sample size, raw counts and uncertainty; comparisons, groups and trends.

Fields that belong to an option (`previous`/`change`/`p_value`/`significant` with `compare`, `groups` with
`group_by` or `interval`, `segments` with `compare=attr.…`, `target`/`benchmark` with `include`, `reason`
when `value` is null) are left out of answers that did not ask for them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.metrics_api.schemas.common import Audience, Metric
from services.metrics_api.schemas.to_target import ToTarget


class Interval(BaseModel):
    """A confidence interval of the value, in the value's unit."""

    low: float
    high: float
    level: float = Field(description="The confidence level: 0.95")


class PreviousValue(BaseModel):
    """The value and sample size of the period or segment compared against."""

    value: float | None
    n: int | None = Field(description="Null for employees below the minimum sample")


class PeriodOut(BaseModel):
    """The period an answer covers: dates (inclusive) or instants (`to` exclusive)."""

    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str


class TargetStatus(BaseModel):
    """The target that applies to this answer, and whether the value meets it."""

    id: str
    value: float
    name: str | None
    met: bool | None = Field(description="value ≥ target; null while the value is null")


class BenchmarkStatus(BaseModel):
    """The external benchmark that applies to this answer, and the value's difference from it."""

    id: str
    value: float
    name: str
    source: str | None
    difference: float | None = Field(description="value - benchmark; null while the value is null")


class Figures(BaseModel):
    """What every metric answer, group and segment carries."""

    value: float | None = Field(description="Null when n is below the org's minimum sample")
    n: int | None = Field(
        description="The sample size; for employees below the minimum sample null, as every count (anonymity)"
    )
    reason: str | None = Field(
        default=None,
        description="Why value is null: `below_min_sample`; for employees also `protects_small_group` (a group "
        "hidden so that the total minus the groups shown cannot reveal a smaller hidden one)",
    )
    ci: Interval | None = Field(default=None, description="95 % confidence interval; null with the value")
    previous: PreviousValue | None = Field(default=None, description="compare=previous: the previous period")
    change: float | None = Field(default=None, description="With compare: value - the compared value")
    p_value: float | None = Field(default=None, description="With compare: two-sided p of the two-sample test")
    significant: bool | None = Field(default=None, description="p < 0.05 and both n ≥ the minimum sample")


class NpsFigures(Figures):
    """NPS (-100..100) from 0-10 answers: promoters 9-10, passives 7-8, detractors 0-6."""

    promoters: int | None
    passives: int | None
    detractors: int | None
    promoters_pct: float | None
    passives_pct: float | None
    detractors_pct: float | None
    moe: float | None = Field(description="95 % margin of error, 1.96·SE, in NPS points")


class ScaleFigures(Figures):
    """What CSAT, CES and rating share: their scale, the answers per point of it and the mean."""

    scale_min: int
    scale_max: int
    histogram: dict[str, int] | None = Field(description="Answers per point of the scale")
    mean: float | None


class CsatFigures(ScaleFigures):
    """CSAT: value = percent satisfied (the two highest points of the scale, top-2-box)."""

    satisfied: int | None = Field(description="Answers in the two highest points")
    top_box: int | None = Field(description="Answers in the highest point")
    top_box_pct: float | None


class CesFigures(ScaleFigures):
    """CES: value = the mean score (higher is easier); `easy` counts the points above the scale's midpoint."""

    easy: int | None
    easy_pct: float | None


class RatingFigures(ScaleFigures):
    """A rating question: value = the mean score with its t interval; top box and top-2-box."""

    top_box: int | None = Field(description="Answers in the highest point")
    top_box_pct: float | None
    top2_box: int | None = Field(description="Answers in the two highest points")
    top2_box_pct: float | None


class SuccessFigures(Figures):
    """Success: value = 100·(yes + w·partly)/n, w = `partly_weight`; the counts of each answer beside it."""

    yes: int | None
    partly: int | None
    no: int | None
    yes_pct: float | None
    partly_pct: float | None
    no_pct: float | None
    partly_weight: float = Field(description="What a `partly` answer counts for in the value (0..1)")
    interval_method: Literal["wilson", "t"] | None = Field(
        description="`wilson` when partly counts 0 or 1; else `t`: the t interval of the per-response scores 1/w/0"
    )


class EmotionFigures(ScaleFigures):
    """Emotion (1 very negative … 5 very positive): value = the mean score with its t interval."""

    positive: int | None = Field(description="Answers 4 and 5")
    negative: int | None = Field(description="Answers 1 and 2")
    positive_pct: float | None
    negative_pct: float | None


class RateFigures(Figures):
    """Response rate in percent: invitations completed over invitations delivered (n)."""

    completed: int | None
    delivered: int | None


class GroupKey(BaseModel):
    """The group a row of `groups` or `segments` stands for (a unit, channel, … or the first day of a bucket)."""

    key: str | None
    label: str | None = Field(
        default=None,
        description="The unit's, touchpoint's or survey's name, the journey or stage; the key itself for channels,"
        " attributes and buckets; null when survey_api did not answer (`degraded`)",
    )
    rank: int | None = Field(default=None, description="With depth: 1 = the best value (ties share a rank)")
    percentile: float | None = Field(default=None, description="With depth: % of the other ranked units below it")
    significantly_above: bool | None = Field(default=None, description="With depth: above the rest, p < 0.05")
    significantly_below: bool | None = Field(default=None, description="With depth: below the rest, p < 0.05")
    vs_rest_p_value: float | None = Field(default=None, description="With depth: p of the unit against the rest")
    target: TargetStatus | None = Field(
        default=None, description="group_by=unit with include=target: the unit's target (its own or inherited)"
    )


class NpsGroup(NpsFigures, GroupKey):
    """One group of an NPS answer."""

    trend: list[NpsGroup] | None = Field(default=None, description="With group_by and interval: per bucket")


class CsatGroup(CsatFigures, GroupKey):
    """One group of a CSAT answer."""

    trend: list[CsatGroup] | None = Field(default=None, description="With group_by and interval: per bucket")


class CesGroup(CesFigures, GroupKey):
    """One group of a CES answer."""

    trend: list[CesGroup] | None = Field(default=None, description="With group_by and interval: per bucket")


class RatingGroup(RatingFigures, GroupKey):
    """One group of a rating answer."""

    trend: list[RatingGroup] | None = Field(default=None, description="With group_by and interval: per bucket")


class SuccessGroup(SuccessFigures, GroupKey):
    """One group of a success answer."""

    trend: list[SuccessGroup] | None = Field(default=None, description="With group_by and interval: per bucket")


class EmotionGroup(EmotionFigures, GroupKey):
    """One group of an emotion answer."""

    trend: list[EmotionGroup] | None = Field(default=None, description="With group_by and interval: per bucket")


class RateGroup(RateFigures, GroupKey):
    """One group of a response-rate answer."""

    trend: list[RateGroup] | None = Field(default=None, description="With group_by and interval: per bucket")


class AnswerHead(BaseModel):
    """What the answer is about."""

    metric: Metric
    period: PeriodOut
    unit: str | None = Field(description="The unit subtree asked for; null for the org (or the token's units)")
    audience: Audience = Field(description="Whose answers: customers or employees")
    min_sample: int
    groups_total: int | None = Field(
        default=None, description="With group_by and interval: the groups there were (at most 20 are shown)"
    )
    degraded: list[str] | None = Field(
        default=None, description="`labels`: survey_api did not answer, group labels are null (journeys unknown)"
    )


class NpsAnswer(NpsFigures, AnswerHead):
    """`GET /v1/metrics/nps`."""

    groups: list[NpsGroup] | None = None
    segments: list[NpsGroup] | None = None
    target: TargetStatus | None = None
    benchmark: BenchmarkStatus | None = None
    to_target: ToTarget | None = None


class CsatAnswer(CsatFigures, AnswerHead):
    """`GET /v1/metrics/csat`."""

    groups: list[CsatGroup] | None = None
    segments: list[CsatGroup] | None = None
    target: TargetStatus | None = None
    benchmark: BenchmarkStatus | None = None
    to_target: ToTarget | None = None


class CesAnswer(CesFigures, AnswerHead):
    """`GET /v1/metrics/ces`."""

    groups: list[CesGroup] | None = None
    segments: list[CesGroup] | None = None
    target: TargetStatus | None = None
    benchmark: BenchmarkStatus | None = None


class RatingAnswer(RatingFigures, AnswerHead):
    """`GET /v1/metrics/rating`."""

    groups: list[RatingGroup] | None = None
    segments: list[RatingGroup] | None = None
    target: TargetStatus | None = None
    benchmark: BenchmarkStatus | None = None
    to_target: ToTarget | None = None


class SuccessAnswer(SuccessFigures, AnswerHead):
    """`GET /v1/metrics/success`."""

    groups: list[SuccessGroup] | None = None
    segments: list[SuccessGroup] | None = None
    target: TargetStatus | None = None
    benchmark: BenchmarkStatus | None = None
    to_target: ToTarget | None = None


class EmotionAnswer(EmotionFigures, AnswerHead):
    """`GET /v1/metrics/emotion`."""

    groups: list[EmotionGroup] | None = None
    segments: list[EmotionGroup] | None = None
    target: TargetStatus | None = None
    benchmark: BenchmarkStatus | None = None
    to_target: ToTarget | None = None


class RateAnswer(RateFigures, AnswerHead):
    """`GET /v1/metrics/response_rate`."""

    groups: list[RateGroup] | None = None
    segments: list[RateGroup] | None = None
    target: TargetStatus | None = None
    benchmark: BenchmarkStatus | None = None
