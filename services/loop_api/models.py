"""loop_api's tables; no other service imports them."""

from __future__ import annotations

from sqlmodel import SQLModel

from shared.db import new_registry
from shared.idempotency import IdempotencyRecordFields
from shared.org_settings import OrgSettingsFields
from shared.outbox import OutboxEventFields


class LoopTable(SQLModel, registry=new_registry()):
    """The base of every loop_api table (its own metadata, its own migrations)."""


class OutboxEvent(OutboxEventFields, LoopTable, table=True):
    """Events loop_api owes its subscribers, written in the transaction of the change."""

    __tablename__ = "outbox"


class IdempotencyRecord(IdempotencyRecordFields, LoopTable, table=True):
    """Creating requests seen with an `Idempotency-Key`, and their first answers."""

    __tablename__ = "idempotency_keys"


class OrgSettingsRow(OrgSettingsFields, LoopTable, table=True):
    """loop_api's per-org settings document."""

    __tablename__ = "org_settings"
