"""The root-cause taxonomy's request and response models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from shared.schemas.common import Language

ROOT_CAUSE_CODE_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,4}$"
MAX_LABEL_LANGUAGES = 20

RootCauseCode = Annotated[str, StringConstraints(pattern=ROOT_CAUSE_CODE_PATTERN, max_length=64)]
"""A root-cause code: up to five lowercase dot-separated segments, e.g. `delivery.late`."""

LabelText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Label = Annotated[dict[Language, LabelText], Field(min_length=1, max_length=MAX_LABEL_LANGUAGES)]
"""Display texts by language (`{"en": "Late delivery", "de": "Verspätete Lieferung"}`)."""

Description = Annotated[str, StringConstraints(max_length=2000)]

CODE_DESCRIPTION = (
    "Stable code, unique in the org. A child's code need not start with its parent's, but dotted codes "
    "should (`delivery.late` below `delivery`) so that a code reads as its place in the tree."
)


class RootCauseCreate(BaseModel):
    """A new root-cause code; its parent, if any, must exist first."""

    model_config = ConfigDict(extra="forbid")

    code: RootCauseCode = Field(description=CODE_DESCRIPTION)
    parent_code: RootCauseCode | None = Field(default=None, description="The parent code; the tree is at most 5 deep")
    label: Label
    description: Description | None = None
    active: bool = Field(default=True, description="Retired codes stay for history but cannot be picked")


class RootCauseUpdate(BaseModel):
    """A partial update; `code` and `parent_code` are immutable because closed cases refer to them."""

    model_config = ConfigDict(extra="forbid")

    label: Label | None = None
    description: Description | None = Field(default=None, description="null clears it")
    active: bool | None = None

    @field_validator("label", "active")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only an explicit null reaches here (defaults are not validated): these fields cannot be cleared.
        if value is None:
            raise ValueError("may not be null; leave the field out to keep its value")
        return value


class RootCausePublic(BaseModel):
    """A root-cause code as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    code: str
    parent_code: str | None
    depth: int
    label: dict[str, str]
    description: str | None
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime
