"""survey_api's tables; no other service imports them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, new_registry, utcnow
from shared.idempotency import IdempotencyRecordFields
from shared.org_settings import OrgSettingsFields
from shared.outbox import OutboxEventFields


class SurveyTable(SQLModel, registry=new_registry()):
    """The base of every survey_api table (its own metadata, its own migrations)."""


class Unit(SurveyTable, table=True):
    """A node of the organisation's hierarchy, named by its materialised path (`emea/de/berlin-01`)."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("org", "path"),)

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    path: str = Field(max_length=255)
    name: str = Field(max_length=200)
    parent_path: str | None = Field(default=None, max_length=255)
    depth: int
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxEvent(OutboxEventFields, SurveyTable, table=True):
    """Events survey_api owes its subscribers, written in the transaction of the change."""

    __tablename__ = "outbox"


class IdempotencyRecord(IdempotencyRecordFields, SurveyTable, table=True):
    """Creating requests seen with an `Idempotency-Key`, and their first answers."""

    __tablename__ = "idempotency_keys"


class OrgSettingsRow(OrgSettingsFields, SurveyTable, table=True):
    """survey_api's per-org settings document."""

    __tablename__ = "org_settings"
