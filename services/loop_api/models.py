"""loop_api's tables; no other service imports them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import JSONType, UTCDateTime, new_registry, utcnow
from shared.idempotency import IdempotencyRecordFields
from shared.org_settings import OrgSettingsFields
from shared.outbox import InboxFields, OutboxEventFields


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


class OutboxEvent(OutboxEventFields, LoopTable, table=True):
    """Events loop_api owes its subscribers, written in the transaction of the change."""

    __tablename__ = "outbox"


class InboxEvent(InboxFields, LoopTable, table=True):
    """Ids of the events loop_api has processed: a repeated delivery is recognised and skipped."""

    __tablename__ = "inbox"


class IdempotencyRecord(IdempotencyRecordFields, LoopTable, table=True):
    """Creating requests seen with an `Idempotency-Key`, and their first answers."""

    __tablename__ = "idempotency_keys"


class OrgSettingsRow(OrgSettingsFields, LoopTable, table=True):
    """loop_api's per-org settings document."""

    __tablename__ = "org_settings"
