"""The notifications owed to people (loop_api's outbox of emails)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from services.loop_api.base import LoopTable
from shared.db import JSONType, UTCDateTime, utcnow


class Notification(LoopTable, table=True):
    """One email owed to one person, written in the transaction of the change it tells of.

    `status`: `pending` (due at `next_attempt_at`, retried with backoff) → `sent` or `failed`; a person on the
    digest has `queued` items until their daily digest takes them (`digested`, `digest_id`); `skipped` was never
    sent (an empty digest, a person who turned notifications off). The mail is rendered when it is sent, from
    the case as it is then: a contact erased meanwhile leaves no comment in it.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("org", "dedupe_key"),
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notifications_org_recipient_status", "org", "recipient", "status"),
        Index("ix_notifications_org_case_id", "org", "case_id"),
        Index("ix_notifications_digest_id", "digest_id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    recipient: str = Field(max_length=255)
    email: str = Field(max_length=320)
    kind: str = Field(max_length=30)
    case_id: str | None = Field(default=None, max_length=40)
    unit: str | None = Field(default=None, max_length=255)
    subject: str = Field(max_length=300)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    delivery: str = Field(default="immediate", max_length=10)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=2000)
    digest_id: str | None = Field(default=None, max_length=40)
    # One digest per person and local day, whichever replica composes it first.
    dedupe_key: str | None = Field(default=None, max_length=300)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
