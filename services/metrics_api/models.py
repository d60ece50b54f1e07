"""metrics_api's tables; no other service imports them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, new_registry, utcnow
from shared.idempotency import IdempotencyRecordFields
from shared.org_settings import OrgSettingsFields
from shared.outbox import InboxFields, OutboxEventFields


class MetricsTable(SQLModel, registry=new_registry()):
    """The base of every metrics_api table (its own metadata, its own migrations)."""


class Target(MetricsTable, table=True):
    """The goal for one metric on one scope (org or unit, optionally a survey, touchpoint, question) over a period."""

    __tablename__ = "targets"
    # (org, metric) serves the `metric` filter and the overlap check; (org, unit) the `unit` filter.
    __table_args__ = (
        Index("ix_targets_org_metric", "org", "metric"),
        Index("ix_targets_org_unit", "org", "unit"),
    )

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    metric: str = Field(max_length=20)
    unit: str | None = Field(default=None, max_length=255)
    survey_id: str | None = Field(default=None, max_length=64)
    touchpoint_id: str | None = Field(default=None, max_length=64)
    question: str | None = Field(default=None, max_length=40)
    value: float
    period_start: dt.date
    period_end: dt.date
    name: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxEvent(OutboxEventFields, MetricsTable, table=True):
    """Events metrics_api owes its subscribers, written in the transaction of the change."""

    __tablename__ = "outbox"


class InboxEvent(InboxFields, MetricsTable, table=True):
    """Ids of the events metrics_api has processed: a repeated delivery is recognised and skipped."""

    __tablename__ = "inbox"


class IdempotencyRecord(IdempotencyRecordFields, MetricsTable, table=True):
    """Creating requests seen with an `Idempotency-Key`, and their first answers."""

    __tablename__ = "idempotency_keys"


class OrgSettingsRow(OrgSettingsFields, MetricsTable, table=True):
    """metrics_api's per-org settings document."""

    __tablename__ = "org_settings"
