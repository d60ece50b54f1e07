"""The unit hierarchy table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from services.survey_api.models.base import SurveyTable
from shared.db import UTCDateTime, utcnow


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
