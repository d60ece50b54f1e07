"""Contacts: the customers (or employees) who are surveyed, and the business outcomes partners report of them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from services.survey_api.models import SurveyTable
from shared.db import JSONType, UTCDateTime, utcnow


class Contact(SurveyTable, table=True):
    """One person, known by the org's `external_id`; after erasure a tombstone without personal data."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("org", "external_id"), Index(None, "org", "unit", "id"))

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    external_id: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=200)
    locale: str | None = Field(default=None, max_length=8)
    unit: str | None = Field(default=None, max_length=255)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    consent: dict[str, bool] = Field(default_factory=dict, sa_type=JSONType)
    unsubscribed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_surveyed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    erased_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Outcome(SurveyTable, table=True):
    """A business fact about a contact from a partner system (churned, renewed, purchase, revenue), kept once
    per the partner's `external_id`; erasure of the contact deletes it."""

    __tablename__ = "outcomes"
    __table_args__ = (
        UniqueConstraint("org", "external_id"),
        Index(None, "org", "contact_id", "occurred_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    external_id: str = Field(max_length=200)
    contact_id: str = Field(max_length=40)
    kind: str = Field(max_length=20)
    value: float | None = None
    occurred_at: dt.datetime = Field(sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
