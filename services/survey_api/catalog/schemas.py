"""Wire models of surveys (the editable working copy) and their frozen published versions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.survey_api.catalog.questions import Question, Questions
from shared.schemas.common import Language, Name, UnitPath

SurveyKind = Literal["relational", "transactional", "in_the_moment"]
Audience = Literal["customers", "employees"]
SurveyStatus = Literal["draft", "active", "closed"]
TouchpointId = Annotated[str, StringConstraints(min_length=1, max_length=40)]
ContactFrequencyDays = Annotated[int, Field(ge=0, le=3650)]

FREQUENCY_DESCRIPTION = "At most one invitation per contact per this many days (0 = off); null = the org's rule"
DEFAULT_LANGUAGE_DESCRIPTION = "One of `languages`; defaults to the first of them"


def _distinct(languages: list[str]) -> list[str]:
    if len(set(languages)) != len(languages):
        raise ValueError("languages must be distinct")
    return languages


Languages = Annotated[list[Language], Field(min_length=1, max_length=50), AfterValidator(_distinct)]


class SurveyCreate(BaseModel):
    """A new survey, created as a draft (version 1) with its questions in every one of its languages."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: SurveyKind
    audience: Audience = "customers"
    touchpoint_id: TouchpointId | None = Field(default=None, description="A touchpoint of the org")
    languages: Languages
    default_language: Language | None = Field(default=None, description=DEFAULT_LANGUAGE_DESCRIPTION)
    questions: Questions
    contact_frequency_days: ContactFrequencyDays | None = Field(default=None, description=FREQUENCY_DESCRIPTION)


class SurveyUpdate(BaseModel):
    """A partial change: fields left out stay; `touchpoint_id` and `contact_frequency_days` may be null."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    kind: SurveyKind | None = None
    audience: Audience | None = None
    touchpoint_id: TouchpointId | None = None
    languages: Languages | None = None
    default_language: Language | None = None
    questions: Questions | None = None
    contact_frequency_days: ContactFrequencyDays | None = Field(default=None, description=FREQUENCY_DESCRIPTION)

    @field_validator("name", "kind", "audience", "languages", "default_language", "questions")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Only called for fields the client sent: leaving one out keeps it, but null cannot clear it.
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class SurveyPublic(BaseModel):
    """A survey's working copy and where its published versions stand.

    `version` is the number the working copy has (or will have when published); `published_version` is the
    version respondents answer (null before the first publish).
    """

    id: str
    name: str
    kind: SurveyKind
    audience: Audience
    touchpoint_id: str | None
    languages: list[str]
    default_language: str
    questions: list[Question]
    contact_frequency_days: int | None = Field(description=FREQUENCY_DESCRIPTION)
    status: SurveyStatus
    version: int
    published_version: int | None
    has_unpublished_changes: bool = Field(description="Whether the working copy differs from `published_version`")
    created_at: dt.datetime
    updated_at: dt.datetime
    published_at: dt.datetime | None = Field(description="When `published_version` was published")
    closed_at: dt.datetime | None


class SurveyVersionPublic(BaseModel):
    """A published version of a survey, frozen: what its respondents answered."""

    model_config = ConfigDict(from_attributes=True)

    survey_id: str
    version: int
    name: str
    kind: SurveyKind
    audience: Audience
    touchpoint_id: str | None
    languages: list[str]
    default_language: str
    questions: list[Question]
    published_at: dt.datetime


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


JourneyLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
"""The name of a journey or of one of its stages (`onboarding`, `Delivery`)."""


class TouchpointCreate(BaseModel):
    """A new touchpoint; its name is unique within its journey."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    journey: JourneyLabel = Field(description="The journey it belongs to, e.g. `purchase`")
    stage: JourneyLabel = Field(description="The stage of that journey, e.g. `delivery`")


class TouchpointPublic(BaseModel):
    """A touchpoint as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    journey: str
    stage: str
    created_at: dt.datetime
