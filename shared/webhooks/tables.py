"""Columns of a service's `webhooks`, `webhook_deliveries` and `webhook_attempts` tables (each service declares
them on its base, with a unique (webhook_id, event_id) on its deliveries: one delivery per event and webhook)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlmodel import Field, SQLModel

from shared.db import JSONType, UTCDateTime, utcnow


class WebhookFields(SQLModel):
    """A subscription: where to POST which events (optionally of one survey), and its signing secret."""

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100, index=True)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(sa_type=JSONType)
    survey_id: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=500)
    units: list[str] | None = Field(default=None, sa_type=JSONType)  # its creator's units; None = the whole org
    secret: str = Field(max_length=100)  # needed to sign; never returned after creation
    active: bool = True
    disabled_reason: str | None = Field(default=None, max_length=500)
    failing_since: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebhookDeliveryFields(SQLModel):
    """One event owed to one webhook, where it stands, and its latest attempt's outcome."""

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    webhook_id: str = Field(max_length=40, index=True)
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=100)
    payload: dict[str, Any] = Field(sa_type=JSONType)
    status: str = Field(default="pending", max_length=20)  # pending, delivered, failed (gave up)
    attempts: int = 0
    # when the next attempt is due; None once delivered or given up (nothing more will be tried)
    next_attempt_at: dt.datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookAttemptFields(SQLModel):
    """One attempt to deliver: when, how long it took, and what the receiver answered (or why it failed)."""

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    delivery_id: str = Field(max_length=40, index=True)
    webhook_id: str = Field(max_length=40)
    number: int  # 1 for the first attempt of its delivery
    at: dt.datetime = Field(sa_type=UTCDateTime)
    duration_ms: float
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=1000)


@dataclass(frozen=True)
class WebhookTables:
    """A service's three webhook tables, as it declares them on its own base."""

    webhooks: type[WebhookFields]
    deliveries: type[WebhookDeliveryFields]
    attempts: type[WebhookAttemptFields]
