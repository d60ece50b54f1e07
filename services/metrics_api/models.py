"""metrics_api's tables; no other service imports them."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.db import new_registry
from shared.idempotency import IdempotencyRecordFields
from shared.org_settings import OrgSettingsFields
from shared.outbox import OutboxEventFields


class MetricsTable(SQLModel, registry=new_registry()):
    """The base of every metrics_api table (its own metadata, its own migrations)."""


class OutboxEvent(OutboxEventFields, MetricsTable, table=True):
    """Events metrics_api owes its subscribers, written in the transaction of the change."""

    __tablename__ = "outbox"


class IdempotencyRecord(IdempotencyRecordFields, MetricsTable, table=True):
    """Creating requests seen with an `Idempotency-Key`, and their first answers."""

    __tablename__ = "idempotency_keys"


class OrgSettingsRow(OrgSettingsFields, MetricsTable, table=True):
    """metrics_api's per-org settings document."""

    __tablename__ = "org_settings"
