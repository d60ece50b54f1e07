"""The rules (loop_api's table)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field

from services.loop_api.base import LoopTable
from shared.db import JSONType, UTCDateTime, utcnow


class Rule(LoopTable, table=True):
    """A rule of the org: its definition (conditions, scope, priority, SLA, assignment) is one document."""

    __tablename__ = "rules"
    __table_args__ = (Index("ix_rules_org_sort_order", "org", "sort_order"),)

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    name: str = Field(max_length=200)
    active: bool = True
    sort_order: int = 100
    definition: dict[str, Any] = Field(sa_type=JSONType)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
