"""Responses: answers to one published survey version, with the context they were given in."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from services.survey_api.models import SurveyTable
from shared.db import JSONType, UTCDateTime, utcnow


class SurveyResponse(SurveyTable, table=True):
    """One respondent's answers. Unit, touchpoint and contact attributes are snapshots from answer time."""

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "external_id"),
        Index(None, "org", "id"),
        Index(None, "org", "survey_id", "id"),
        Index(None, "org", "contact_id"),
        Index(None, "org", "submitted_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    survey_id: str = Field(foreign_key="surveys.id", max_length=40)
    survey_version: int
    external_id: str | None = Field(default=None, max_length=200)
    contact_id: str | None = Field(default=None, foreign_key="contacts.id", max_length=40)
    channel: str = Field(max_length=20)
    source: str = Field(default="partner", max_length=20)
    language: str | None = Field(default=None, max_length=8)
    unit: str | None = Field(default=None, max_length=255)
    touchpoint_id: str | None = Field(default=None, max_length=40)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    finished: bool = False
    submitted_at: dt.datetime = Field(sa_type=UTCDateTime)
    completed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    anonymised_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
