"""The people who work cases (loop_api's table)."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Field

from services.loop_api.base import LoopTable
from shared.db import JSONType, UTCDateTime, utcnow


class Person(LoopTable, table=True):
    """Someone who owns cases: their handle (the owner and team-member id), address and notification choice."""

    __tablename__ = "people"

    org: str = Field(primary_key=True, max_length=100)
    handle: str = Field(primary_key=True, max_length=255)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    units: list[str] = Field(default_factory=list, sa_type=JSONType)
    notify: str = Field(default="immediate", max_length=10)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
