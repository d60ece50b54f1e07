"""The unit hierarchy table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from services.survey_api.models import SurveyTable
from shared.db import JSONType, UTCDateTime, utcnow


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


class Touchpoint(SurveyTable, table=True):
    """A point of the customer journey where a survey listens (journey → stage → touchpoint)."""

    __tablename__ = "touchpoints"
    __table_args__ = (UniqueConstraint("org", "journey", "name"), Index(None, "org", "journey", "id"))

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    name: str = Field(max_length=200)
    journey: str = Field(max_length=100)
    stage: str = Field(max_length=100)
    stage_position: int = 0
    status: str = Field(default="active", max_length=20)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Survey(SurveyTable, table=True):
    """A survey's working copy: the draft being edited and where its published versions stand.

    `version` is the number the working copy will have (or has) when published; `published_version` is
    the newest frozen one that respondents answer (None before the first publish).
    """

    __tablename__ = "surveys"
    __table_args__ = (Index(None, "org", "id"),)

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    name: str = Field(max_length=200)
    title: dict[str, str] | None = Field(default=None, sa_type=JSONType)
    kind: str = Field(max_length=20)
    audience: str = Field(default="customers", max_length=20)
    purpose: str = Field(default="standard", max_length=20)
    touchpoint_id: str | None = Field(default=None, foreign_key="touchpoints.id", max_length=40)
    languages: list[str] = Field(sa_type=JSONType)
    default_language: str = Field(max_length=8)
    questions: list[dict[str, Any]] = Field(sa_type=JSONType)
    contact_frequency_days: int | None = None
    status: str = Field(default="draft", max_length=20)
    version: int = 1
    published_version: int | None = None
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class SurveyVersion(SurveyTable, table=True):
    """A published version of a survey, frozen: responses pin the version they answered."""

    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("survey_id", "version"),)

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    survey_id: str = Field(foreign_key="surveys.id", max_length=40)
    version: int
    name: str = Field(max_length=200)
    title: dict[str, str] | None = Field(default=None, sa_type=JSONType)
    kind: str = Field(max_length=20)
    audience: str = Field(max_length=20)
    touchpoint_id: str | None = Field(default=None, max_length=40)
    languages: list[str] = Field(sa_type=JSONType)
    default_language: str = Field(max_length=8)
    questions: list[dict[str, Any]] = Field(sa_type=JSONType)
    published_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
