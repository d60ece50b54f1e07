"""Teams that cases are assigned to (round robin among members) and the escalation owners of units."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.loop_api.rules.schemas import UserId
from shared.schemas.common import Name, UnitPath

MAX_MEMBERS = 200
MAX_ESCALATIONS = 500


def _distinct(members: list[str]) -> list[str]:
    if len(set(members)) != len(members):
        raise ValueError("lists a member twice")
    return members


class TeamCreate(BaseModel):
    """A new team: a name unique in the org, and the user ids (token `sub`) that work its cases."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    members: list[UserId] = Field(default_factory=list, max_length=MAX_MEMBERS)

    _members = field_validator("members")(_distinct)


class TeamUpdate(BaseModel):
    """A partial update: a new name, or the whole member list."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    members: list[UserId] | None = Field(default=None, max_length=MAX_MEMBERS)

    @field_validator("name", "members")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return _distinct(value) if isinstance(value, list) else value


class TeamPublic(BaseModel):
    """A team as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    members: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


class Escalation(BaseModel):
    """Breached cases of this unit subtree (every unit when null) are handed to `owner`."""

    model_config = ConfigDict(extra="forbid")

    unit: UnitPath | None = None
    owner: UserId


class Escalations(BaseModel):
    """The org's escalation owners; the deepest unit that contains a case's unit wins."""

    model_config = ConfigDict(extra="forbid")

    items: list[Escalation] = Field(default_factory=list, max_length=MAX_ESCALATIONS)

    @field_validator("items")
    @classmethod
    def _one_per_unit(cls, items: list[Escalation]) -> list[Escalation]:
        units = [e.unit for e in items]
        if len(set(units)) != len(units):
            raise ValueError("names a unit twice")
        return items
