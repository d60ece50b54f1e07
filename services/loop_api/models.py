"""loop_api's tables; no other service imports them."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import JSONType, UTCDateTime, new_registry, utcnow
from shared.idempotency import IdempotencyRecordFields
from shared.org_settings import OrgSettingsFields
from shared.outbox import InboxFields, OutboxEventFields
from shared.webhooks.tables import WebhookDeliveryFields, WebhookFields


class LoopTable(SQLModel, registry=new_registry()):
    """The base of every loop_api table (its own metadata, its own migrations)."""


class RootCause(LoopTable, table=True):
    """A code of the org's root-cause taxonomy (`delivery.late`, child of `delivery`).

    Codes are never deleted: closed cases keep naming the code they were closed with, so a code that
    is no longer wanted is retired (`active = false`) and stays readable for history and reports.
    """

    __tablename__ = "root_causes"
    __table_args__ = (
        UniqueConstraint("org", "code"),
        Index("ix_root_causes_org_parent_code", "org", "parent_code"),
    )

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    code: str = Field(max_length=64)
    parent_code: str | None = Field(default=None, max_length=64)
    depth: int
    label: dict[str, str] = Field(sa_type=JSONType)
    description: str | None = Field(default=None, max_length=2000)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Team(LoopTable, table=True):
    """A group of people who work cases; new cases routed to it go to its members in turn."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org", "name"),)

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    name: str = Field(max_length=200)
    members: list[str] = Field(default_factory=list, sa_type=JSONType)
    # How many cases the team has been given: the next member is `members[assigned % len(members)]`.
    assigned: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EscalationMap(LoopTable, table=True):
    """The org's escalation owners by unit subtree, replaced as a whole."""

    __tablename__ = "escalations"

    org: str = Field(primary_key=True, max_length=100)
    items: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Rule(LoopTable, table=True):
    """A rule of the org: its definition (conditions, scope, priority, SLA, assignment) is one document."""

    __tablename__ = "rules"
    __table_args__ = (Index("ix_rules_org_sort_order", "org", "sort_order"),)

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    name: str = Field(max_length=200)
    active: bool = True
    sort_order: int = 100
    definition: dict[str, Any] = Field(sa_type=JSONType)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


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
    # While waiting on the customer the resolution clock is paused: set on entering, cleared (after pushing the
    # resolution due and at-risk times back by the business hours spent waiting) on leaving.
    sla_paused_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    root_causes: list[str] = Field(default_factory=list, sa_type=JSONType)
    resolution: str | None = Field(default=None, max_length=5000)
    outcome: str | None = Field(default=None, max_length=20)
    followup_requested_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
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


class OutboxEvent(OutboxEventFields, LoopTable, table=True):
    """Events loop_api owes its subscribers (and its webhooks), written in the transaction of the change."""

    __tablename__ = "outbox"
    local_destinations: ClassVar[tuple[str, ...]] = ("webhooks",)


class Webhook(WebhookFields, LoopTable, table=True):
    """A partner's subscription to loop_api's events (cases opened, breached, closed …)."""

    __tablename__ = "webhooks"


class WebhookDelivery(WebhookDeliveryFields, LoopTable, table=True):
    """One event owed to one webhook."""

    __tablename__ = "webhook_deliveries"


class InboxEvent(InboxFields, LoopTable, table=True):
    """Ids of the events loop_api has processed: a repeated delivery is recognised and skipped."""

    __tablename__ = "inbox"


class IdempotencyRecord(IdempotencyRecordFields, LoopTable, table=True):
    """Creating requests seen with an `Idempotency-Key`, and their first answers."""

    __tablename__ = "idempotency_keys"


class OrgSettingsRow(OrgSettingsFields, LoopTable, table=True):
    """loop_api's per-org settings document."""

    __tablename__ = "org_settings"
