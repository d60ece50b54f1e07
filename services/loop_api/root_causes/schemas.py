"""The root-cause taxonomy's request and response models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

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


StatsBy = Literal["unit", "touchpoint", "month"]


class RootCauseGroup(BaseModel):
    """One group's count of a code: cases closed with it and their share of the group's closed cases."""

    key: str | None = Field(description="The unit path, touchpoint id or month (`2026-03`); null: none recorded")
    cases: int
    closed_cases: int
    share_pct: float | None


class PreviousPeriod(BaseModel):
    """The same code in the period of equal length just before."""

    cases: int
    share_pct: float | None


class RootCauseStat(BaseModel):
    """How often one code was recorded on the cases closed in range, where and whether it is rising."""

    code: str
    cases: int
    share_pct: float | None = Field(description="100 · cases / closed cases in range (a case may carry several)")
    previous: PreviousPeriod
    change_pct: float | None = Field(description="share_pct minus the previous period's, in points")
    p_value: float | None = Field(description="Two-proportion z-test of the two shares (two-sided)")
    rising: bool = Field(description="The share grew and p < 0.05")
    groups: list[RootCauseGroup]


class RootCauseStats(BaseModel):
    """Root causes across the caller's closed cases: per code, most frequent first."""

    start: dt.datetime
    end: dt.datetime
    previous_start: dt.datetime
    by: StatsBy | None
    closed_cases: int
    previous_closed_cases: int
    rising: list[str] = Field(description="The codes whose share rose significantly against the previous period")
    items: list[RootCauseStat]
