"""Wire models of action plans that loop_api serves and metrics_api passes on in scorecards."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class EffectInterval(BaseModel):
    """The 95 % confidence interval of a plan's effect."""

    low: float
    high: float
    level: float = 0.95


class PlanEffect(BaseModel):
    """A plan's effect as loop_api last measured it: difference-in-differences against the rest of the org."""

    measured_at: dt.datetime
    window_days: int
    after_days: int = Field(description="Days of the after window at the time of measuring")
    effect: float | None = Field(description="(after - before) in scope minus the same in the rest of the org")
    ci: EffectInterval | None
    p_value: float | None
    significant: bool
    reason: str | None = Field(description="Why there is no effect or it cannot be significant, when so")
