"""Cases: what the customer said, who owns it, its SLA, its timeline, how it ended and whether they stayed."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.loop_api.root_causes.schemas import RootCauseCode
from services.loop_api.rules.schemas import Priority, UserId
from shared.events import QuestionInfo

Status = Literal["open", "in_progress", "waiting_on_customer", "resolved", "closed"]
SlaState = Literal["on_track", "at_risk", "breached"]
Outcome = Literal["recovered", "not_recovered", "unreachable"]
ActivityKind = Literal["call", "email", "meeting", "note"]
MAX_ROOT_CAUSES = 10

Resolution = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class CaseSnapshot(BaseModel):
    """What the customer said and its context, as the response event carried it when the case opened."""

    survey_id: str
    survey_version: int
    touchpoint_id: str | None
    unit: str | None
    contact_id: str | None
    attributes: dict[str, Any]
    language: str | None
    channel: str
    questions: list[QuestionInfo]
    answers: dict[str, Any]
    submitted_at: dt.datetime
    completed_at: dt.datetime | None


class Recovery(BaseModel):
    """The contact's first NPS answer after the case closed: before → after, and whether a detractor was won back."""

    response_id: str
    score_before: int | None
    score_after: int
    saved: bool
    recorded_at: dt.datetime


class Followup(BaseModel):
    """The follow-up invitation of a closed case: `requested` until survey_api makes it, then its status."""

    invitation_id: str | None = Field(description="null until survey_api has made the invitation, or not_sent")
    status: str = Field(description="requested, not_sent, or the invitation's: scheduled, sent, delivered, …")
    sent_at: dt.datetime | None


class CasePublic(BaseModel):
    """A case as the API shows it; `sla_state` and `overdue` are computed as of the request."""

    id: str
    status: Status
    priority: Priority
    owner: str | None
    team: str | None
    queue: str | None = Field(description="The unit whose queue holds the case while no owner or team has it")
    unit: str | None
    response_id: str
    contact_id: str | None
    survey_id: str
    touchpoint_id: str | None
    rule_id: str
    sla_first_contact_hours: float
    sla_resolution_hours: float
    due_first_contact_at: dt.datetime
    due_resolution_at: dt.datetime
    first_contact_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    sla_paused_at: dt.datetime | None = Field(
        default=None, description="Since when the resolution clock is paused (the case waits on the customer)"
    )
    sla_state: SlaState
    overdue: bool
    first_contact_escalated_at: dt.datetime | None
    resolution_escalated_at: dt.datetime | None
    root_causes: list[str]
    resolution: str | None
    outcome: Outcome | None
    followup_requested_at: dt.datetime | None
    followup: Followup | None = Field(description="The follow-up invitation (null until one is requested)")
    recovery: Recovery | None
    snapshot: CaseSnapshot
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class TimelineEntry(BaseModel):
    """One change or activity of a case: what, by whom (token `sub`, or `system:…`) and when."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    actor: str
    at: dt.datetime
    data: dict[str, Any]


class CaseDetail(CasePublic):
    """A case with its timeline, oldest first."""

    timeline: list[TimelineEntry]
    timeline_truncated: bool = Field(description="True when only the first entries are shown")


class CaseUpdate(BaseModel):
    """A partial update under `If-Match`; each given field is one timeline entry."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    priority: Priority | None = None
    owner: UserId | None = Field(default=None, description="null unassigns")
    team: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = Field(
        default=None, description="null takes the case out of its team"
    )
    root_causes: list[RootCauseCode] | None = Field(default=None, max_length=MAX_ROOT_CAUSES)
    resolution: Resolution | None = None
    outcome: Outcome | None = None

    @field_validator("status", "priority", "root_causes")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value

    @field_validator("root_causes")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("names a root cause twice")
        return value


class ActivityCreate(BaseModel):
    """Something done for the case: a call, an email, a meeting or a note; `at` defaults to now."""

    model_config = ConfigDict(extra="forbid")

    kind: ActivityKind
    channel: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)] | None = None
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
    at: dt.datetime | None = Field(default=None, description="When it happened; not in the future")
    reached_customer: bool = Field(default=False, description="The customer was reached (first contact)")

    @field_validator("at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone offset")
        return value


# `GET /v1/cases/stats`: how fast, how often within SLA, and how many customers were won back.
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
