"""A person as the API takes and shows them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from shared.schemas.common import Name, UnitPath

Notify = Literal["immediate", "digest", "off"]
MAX_UNITS = 100
HANDLE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@|:+~=-]{0,254}$"
Handle = Annotated[str, StringConstraints(pattern=HANDLE_PATTERN, max_length=255)]
"""How cases, teams and escalations name a person: usually their token's `sub` (`ana`, `auth0|5f1`)."""


def _distinct(units: list[str]) -> list[str]:
    if len(set(units)) != len(units):
        raise ValueError("names a unit twice")
    return units


class PersonCreate(BaseModel):
    """A new person: handle (unique in the org), name, email, the units they look after, how to tell them."""

    model_config = ConfigDict(extra="forbid")

    handle: Handle
    name: Name
    email: EmailStr
    units: list[UnitPath] = Field(
        default_factory=list,
        max_length=MAX_UNITS,
        description="Unit subtrees this person looks after: they hear of every new case there",
    )
    notify: Notify = Field(default="immediate", description="Each email as it happens, one daily digest, or none")

    _units = field_validator("units")(_distinct)


class PersonUpdate(BaseModel):
    """A partial update: any of name, email, units (the whole list) and notify."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: EmailStr | None = None
    units: list[UnitPath] | None = Field(default=None, max_length=MAX_UNITS)
    notify: Notify | None = None

    @field_validator("name", "email", "units", "notify")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return _distinct(value) if isinstance(value, list) else value


class PersonPublic(BaseModel):
    """A person as the API shows them."""

    model_config = ConfigDict(from_attributes=True)

    handle: str
    name: str
    email: str
    units: list[str]
    notify: Notify
    created_at: dt.datetime
    updated_at: dt.datetime
