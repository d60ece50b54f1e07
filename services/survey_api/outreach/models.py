"""Distributions (a survey sent over a channel to an audience) and their invitations (one per contact)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from services.survey_api.models import SurveyTable
from shared.db import JSONType, UTCDateTime, utcnow


class Distribution(SurveyTable, table=True):
    """A survey sent over one channel to an audience (explicit contacts or a filter), now or later."""

    __tablename__ = "distributions"
    __table_args__ = (Index(None, "org", "id"),)

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    survey_id: str = Field(foreign_key="surveys.id", max_length=40)
    channel: str = Field(max_length=20)
    audience: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    send_at: dt.datetime = Field(sa_type=UTCDateTime)
    reminder: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    expires_in_days: int = 30
    created_by: str = Field(max_length=255)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Invitation(SurveyTable, table=True):
    """One contact's invitation: an unguessable single-use token (stored hashed) and its delivery status.

    Suppressed invitations are kept too, with their reason, so every contact's fate stays visible.
    """

    __tablename__ = "invitations"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        UniqueConstraint("org", "interaction_id"),
        Index(None, "org", "distribution_id", "id"),
        Index(None, "org", "contact_id", "created_at"),
        Index(None, "status", "next_attempt_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    distribution_id: str | None = Field(default=None, foreign_key="distributions.id", max_length=40)
    survey_id: str = Field(foreign_key="surveys.id", max_length=40)
    contact_id: str | None = Field(default=None, foreign_key="contacts.id", max_length=40)
    channel: str = Field(max_length=20)
    status: str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=40)
    token_hash: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=8)
    unit: str | None = Field(default=None, max_length=255)
    interaction_id: str | None = Field(default=None, max_length=200)
    expires_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_attempt_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    reminders_sent: int = 0
    last_reminder_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    opened_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    completed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    bounced_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    response_id: str | None = Field(default=None, max_length=40)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
