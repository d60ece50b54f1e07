"""survey_api's request and response models."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas.common import Language, Name, UnitPath


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


class SurveyOrgSettings(BaseModel):
    """survey_api's per-org settings."""

    model_config = ConfigDict(extra="forbid")

    contact_frequency_days: int = Field(
        default=30, ge=0, le=3650, description="At most one invitation per contact per this many days; 0 = off"
    )
    default_languages: list[Language] = Field(default_factory=lambda: ["en"], min_length=1, max_length=50)
