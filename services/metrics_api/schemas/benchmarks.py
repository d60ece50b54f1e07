"""Benchmarks: external reference values of a metric (an industry average, a published competitor score)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.metrics_api.schemas.common import VALUE_DESCRIPTION, Metric, OpaqueId
from shared.schemas.common import Name, UnitPath

Source = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class BenchmarkCreate(BaseModel):
    """A reference value for a metric on a scope (the org, or a unit subtree, optionally one touchpoint)."""

    model_config = ConfigDict(extra="forbid")

    metric: Metric
    value: float = Field(allow_inf_nan=False, description=VALUE_DESCRIPTION.replace("The goal", "The reference"))
    name: Name = Field(description="What it is, e.g. `Retail banking DE 2026`")
    source: Source | None = Field(default=None, description="Where it comes from (a publication, a URL)")
    unit: UnitPath | None = Field(default=None, description="The unit it applies to (and below); null: the org")
    touchpoint_id: OpaqueId | None = Field(default=None, description="Only for metrics of this touchpoint")


class BenchmarkPublic(BaseModel):
    """A benchmark as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    metric: Metric
    value: float
    name: str
    source: str | None
    unit: str | None
    touchpoint_id: str | None
    created_at: dt.datetime
