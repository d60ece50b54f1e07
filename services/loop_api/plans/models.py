"""The action plans, their scope units, tasks and timelines (loop_api's tables)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index
from sqlmodel import Field

from services.loop_api.base import LoopTable
from shared.db import JSONType, UTCDateTime, utcnow


class ActionPlan(LoopTable, table=True):
    """A problem, the root causes it attacks, a scope, an owner, the metric it should move and from when.

    `version` counts every change (tasks included) and is the ETag. The scope's units are also rows of
    `action_plan_units`, so "plans inside the caller's units" and "plans touching a unit" are SQL.
    """

    __tablename__ = "action_plans"
    __table_args__ = (
        Index("ix_action_plans_org_status", "org", "status"),
        Index("ix_action_plans_org_owner", "org", "owner"),
    )

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    title: str = Field(max_length=200)
    problem: str = Field(max_length=5000)
    root_causes: list[str] = Field(default_factory=list, sa_type=JSONType)
    units: list[str] = Field(default_factory=list, sa_type=JSONType)
    touchpoint_ids: list[str] = Field(default_factory=list, sa_type=JSONType)
    survey_id: str | None = Field(default=None, max_length=64)
    owner: str = Field(max_length=255)
    metric: str = Field(max_length=10)
    target: float | None = None
    starts_on: dt.date = Field(sa_type=Date)
    status: str = Field(default="proposed", max_length=20)
    created_by: str = Field(max_length=255)
    version: int = 1
    # The plan's effect as last measured against the rest of the org (plans/effects.py): derived data, so
    # measuring it is not a change of the plan (no new version, no timeline entry).
    latest_effect: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    effect_measured_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ActionPlanUnit(LoopTable, table=True):
    """One unit subtree of a plan's scope (none: the whole org)."""

    __tablename__ = "action_plan_units"
    __table_args__ = (Index("ix_action_plan_units_org_unit", "org", "unit"),)

    plan_id: str = Field(primary_key=True, sa_column_args=[ForeignKey("action_plans.id")], max_length=40)
    unit: str = Field(primary_key=True, max_length=255)
    org: str = Field(max_length=100)


class PlanTask(LoopTable, table=True):
    """A task of a plan: a title, an owner and a due day; `overdue_notified_at` marks its one overdue event."""

    __tablename__ = "action_plan_tasks"
    __table_args__ = (
        Index("ix_action_plan_tasks_plan_id", "plan_id"),
        Index("ix_action_plan_tasks_due_on", "due_on"),
    )

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    plan_id: str = Field(sa_column_args=[ForeignKey("action_plans.id")], max_length=40)
    title: str = Field(max_length=200)
    owner: str = Field(max_length=255)
    due_on: dt.date = Field(sa_type=Date)
    status: str = Field(default="todo", max_length=10)
    done_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    overdue_notified_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PlanEvent(LoopTable, table=True):
    """One entry of a plan's append-only timeline: a change, by whom and when."""

    __tablename__ = "action_plan_events"
    __table_args__ = (Index("ix_action_plan_events_plan_id_id", "plan_id", "id"),)

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    plan_id: str = Field(sa_column_args=[ForeignKey("action_plans.id")], max_length=40)
    kind: str = Field(max_length=40)
    actor: str = Field(max_length=255)
    at: dt.datetime = Field(sa_type=UTCDateTime)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
