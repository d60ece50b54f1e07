"""The root-cause taxonomy (loop_api's table)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field

from services.loop_api.base import LoopTable
from shared.db import JSONType, UTCDateTime, utcnow


class RootCause(LoopTable, table=True):
    """A code of the org's root-cause taxonomy (`delivery.late`, child of `delivery`).

    Codes are never deleted: closed cases keep naming the code they were closed with, so a code that
    is no longer wanted is retired (`active = false`) and stays readable for history and reports.
    """

    __tablename__ = "root_causes"
    __table_args__ = (
        UniqueConstraint("org", "code"),
        Index("ix_root_causes_org_parent_code", "org", "parent_code"),
    )

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    code: str = Field(max_length=64)
    parent_code: str | None = Field(default=None, max_length=64)
    depth: int
    label: dict[str, str] = Field(sa_type=JSONType)
    description: str | None = Field(default=None, max_length=2000)
    active: bool = True
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
