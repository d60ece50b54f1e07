"""Wire models of the unit hierarchy."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from shared.schemas.common import Name, UnitPath


class UnitCreate(BaseModel):
    """A new node of the unit hierarchy; its parent must exist first."""

    model_config = ConfigDict(extra="forbid")

    path: UnitPath
    name: Name


class UnitPublic(BaseModel):
    """A unit as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    path: str
    name: str
    parent_path: str | None
    depth: int
    created_at: dt.datetime
