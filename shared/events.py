"""The event envelope: the contract of every event one service sends another."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from shared.db import utcnow
from shared.ids import new_id


class EventEnvelope(BaseModel):
    """One event: a unique id (consumers dedupe on it), its type, tenant, source, time and payload."""

    id: str = Field(default_factory=lambda: new_id("evt"), max_length=64)
    type: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", max_length=100)
    org: str = Field(min_length=1, max_length=100)
    source: str = Field(max_length=50)
    occurred_at: dt.datetime = Field(default_factory=utcnow)
    version: int = 1
    data: dict[str, Any] = Field(default_factory=dict)
