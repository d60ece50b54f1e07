"""`GET /v1/cases/stats`: how fast, how often within SLA, and how many customers were won back."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

GroupBy = Literal["owner", "team", "unit"]


class Outcomes(BaseModel):
    """How the closed cases ended."""

    recovered: int = 0
    not_recovered: int = 0
    unreachable: int = 0


class StatsFigures(BaseModel):
    """The figures of a set of cases; a rate is a share from 0 to 1, null when nothing was counted."""

    cases: int
    first_contacts: int = Field(description="Cases whose customer was reached")
    median_hours_to_first_contact: float | None = Field(description="Wall-clock hours from opening to first contact")
    p90_hours_to_first_contact: float | None = Field(description="90th percentile (linear, inclusive)")
    first_contact_sla_decided: int = Field(description="Cases whose first contact was made in time or missed")
    first_contact_within_sla_rate: float | None
    resolution_sla_decided: int = Field(description="Cases resolved in time, or late, or still open past due")
    resolved_within_sla_rate: float | None
    followup_answers: int = Field(description="Closed cases whose customer answered NPS again afterwards")
    saved: int = Field(description="Of those, detractors who came back as passives or promoters")
    saved_rate: float | None = Field(description="saved / followup_answers")
    outcomes: Outcomes


class StatsGroup(StatsFigures):
    """The figures of one owner, team or unit (null: no owner, no team, no unit)."""

    key: str | None


class CaseStats(BaseModel):
    """Figures over the cases opened in [start, end), overall and per group."""

    start: dt.datetime
    end: dt.datetime
    as_of: dt.datetime = Field(description="The SLA of cases still open is judged as of this instant")
    by: GroupBy | None
    overall: StatsFigures
    groups: list[StatsGroup]
