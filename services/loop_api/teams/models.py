"""The teams and the escalation owners (loop_api's tables)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import UniqueConstraint
from sqlmodel import Field

from services.loop_api.base import LoopTable
from shared.db import JSONType, UTCDateTime, utcnow


class Team(LoopTable, table=True):
    """A group of people who work cases; new cases routed to it go to its members in turn."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org", "name"),)

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    name: str = Field(max_length=200)
    members: list[str] = Field(default_factory=list, sa_type=JSONType)
    # How many cases the team has been given: the next member is `members[assigned % len(members)]`.
    assigned: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EscalationMap(LoopTable, table=True):
    """The org's escalation owners by unit subtree, replaced as a whole."""

    __tablename__ = "escalations"

    org: str = Field(primary_key=True, max_length=100)
    items: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
