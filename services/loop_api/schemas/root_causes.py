"""loop_api's request and response models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

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


class BusinessHours(BaseModel):
    """When the org works cases: weekdays (1 = Monday) and local opening hours in a time zone."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(default="UTC", max_length=64)
    days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5], min_length=1, max_length=7)
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(17, 0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones() and value != "UTC":
            raise ValueError(f"unknown IANA time zone {value!r}")
        return value

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(d < 1 or d > 7 for d in value) or len(set(value)) != len(value):
            raise ValueError("days are distinct ISO weekdays, 1 (Monday) to 7 (Sunday)")
        return sorted(value)

    @model_validator(mode="after")
    def _start_before_end(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class LoopOrgSettings(BaseModel):
    """loop_api's per-org settings."""

    model_config = ConfigDict(extra="forbid")

    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    default_sla_first_contact_hours: int = Field(default=48, ge=1, le=24 * 90)
    default_sla_resolution_hours: int = Field(default=168, ge=1, le=24 * 365)

    @model_validator(mode="after")
    def _resolution_after_first_contact(self) -> LoopOrgSettings:
        if self.default_sla_resolution_hours < self.default_sla_first_contact_hours:
            raise ValueError("default_sla_resolution_hours must be at least default_sla_first_contact_hours")
        return self


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
