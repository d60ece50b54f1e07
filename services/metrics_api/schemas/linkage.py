"""The value linkage answer: outcome rates per NPS group, detractors against promoters, and revenue at risk."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from services.metrics_api.schemas.metrics import Interval, PeriodOut

LinkedOutcome = Literal["churned", "renewed", "purchase"]
Group = Literal["promoter", "passive", "detractor"]


class LinkageGroup(BaseModel):
    """The contacts whose latest NPS answer in the period puts them in this group, and what followed."""

    group: Group
    contacts: int
    with_outcome: int = Field(description="Contacts with the outcome after their answer, within the window")
    rate_pct: float | None = Field(description="100·with_outcome/contacts; null below the minimum sample")
    ci: Interval | None = Field(description="The 95 % Wilson interval of rate_pct")
    churned: int = Field(description="Contacts who churned within the window (what revenue at risk uses)")
    revenue_total: float = Field(description="Sum of their `revenue` outcomes within the window")
    revenue_mean: float | None = Field(description="revenue_total per contact of the group (null with none)")
    reason: str | None = Field(default=None, description="Why rate_pct is null: below_min_sample")


class GroupComparison(BaseModel):
    """Detractors' outcome rate against promoters': difference, ratio and the two-proportion z test."""

    difference_pct: float | None = Field(description="Detractors' rate_pct minus promoters' (percentage points)")
    rate_ratio: float | None = Field(description="Detractors' rate over promoters' (null when promoters' is 0)")
    p_value: float | None = Field(description="Two-sided p of the pooled two-proportion z test")
    significant: bool = Field(description="p < 0.05 with both groups at or above the minimum sample")
    reason: str | None = None


class LinkageAnswer(BaseModel):
    """`GET /v1/linkage`: per NPS group the contacts, the outcome rate and revenue; the difference; the risk."""

    outcome: LinkedOutcome
    window_days: int
    period: PeriodOut
    min_sample: int
    groups: list[LinkageGroup]
    detractor_vs_promoter: GroupComparison
    revenue_at_risk: float | None = Field(
        description="Detractors' revenue_total x max(0, detractors' churn rate - promoters' churn rate) "
        "(rates as proportions); null while either group is below the minimum sample"
    )
