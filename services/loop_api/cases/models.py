"""The cases and their timelines (loop_api's tables)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlmodel import Field

from services.loop_api.base import LoopTable
from shared.db import JSONType, UTCDateTime, utcnow


class Case(LoopTable, table=True):
    """One unhappy customer's response, followed until it is closed and we know whether they stayed.

    `version` counts every change and is the ETag. The due and at-risk instants are fixed when the case
    opens (business hours of that moment), so the SLA state is plain SQL comparisons with the current time.
    """

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("org", "response_id"),
        Index("ix_cases_org_status", "org", "status"),
        Index("ix_cases_org_contact_id", "org", "contact_id"),
        Index("ix_cases_org_owner", "org", "owner"),
        Index("ix_cases_org_created_at", "org", "created_at"),
        Index("ix_cases_due_first_contact_at", "due_first_contact_at"),
        Index("ix_cases_due_resolution_at", "due_resolution_at"),
        Index("ix_cases_followup_invitation_id", "followup_invitation_id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    status: str = Field(default="open", max_length=30)
    priority: str = Field(default="normal", max_length=10)
    owner: str | None = Field(default=None, max_length=255)
    team_id: str | None = Field(default=None, max_length=40)
    unit: str | None = Field(default=None, max_length=255)
    response_id: str = Field(max_length=64)
    contact_id: str | None = Field(default=None, max_length=64)
    survey_id: str = Field(max_length=64)
    touchpoint_id: str | None = Field(default=None, max_length=64)
    rule_id: str = Field(max_length=40)
    snapshot: dict[str, Any] = Field(sa_type=JSONType)
    nps_before: int | None = None
    sla_first_contact_hours: float
    sla_resolution_hours: float
    due_first_contact_at: dt.datetime = Field(sa_type=UTCDateTime)
    due_resolution_at: dt.datetime = Field(sa_type=UTCDateTime)
    at_risk_first_contact_at: dt.datetime = Field(sa_type=UTCDateTime)
    at_risk_resolution_at: dt.datetime = Field(sa_type=UTCDateTime)
    first_contact_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_contact_escalated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_escalated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the owner was told a clock had used 80 % of its time (the sweeper's at-risk warning, once per clock).
    first_contact_warned_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution_warned_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # While waiting on the customer the resolution clock is paused: set on entering, cleared (after pushing the
    # resolution due and at-risk times back by the business hours spent waiting) on leaving.
    sla_paused_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    root_causes: list[str] = Field(default_factory=list, sa_type=JSONType)
    resolution: str | None = Field(default=None, max_length=5000)
    outcome: str | None = Field(default=None, max_length=20)
    followup_requested_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The follow-up invitation survey_api made (`followup.invited`), kept current by its `invitation.*` events.
    followup_invitation_id: str | None = Field(default=None, max_length=64)
    followup_status: str | None = Field(default=None, max_length=20)
    followup_sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    followup_response_id: str | None = Field(default=None, max_length=64)
    nps_after: int | None = None
    saved: bool | None = None
    recovery_recorded_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CaseEvent(LoopTable, table=True):
    """One entry of a case's append-only timeline: a change or an activity, by whom and when."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case_id_id", "case_id", "id"),)

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    case_id: str = Field(sa_column_args=[ForeignKey("cases.id")], max_length=40)
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=255)
    at: dt.datetime = Field(sa_type=UTCDateTime)
    recorded_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
