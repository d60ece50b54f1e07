"""Wire models of surveys (the editable working copy) and their frozen published versions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.survey_api.catalog.questions import Question, Questions
from shared.schemas.common import Language, Name, UnitPath

SurveyKind = Literal["relational", "transactional", "in_the_moment"]
Audience = Literal["customers", "employees"]
Purpose = Literal["standard", "followup"]
TouchpointStatus = Literal["active", "retired"]
SurveyStatus = Literal["draft", "active", "closed"]
TouchpointId = Annotated[str, StringConstraints(min_length=1, max_length=40)]
ContactFrequencyDays = Annotated[int, Field(ge=0, le=3650)]

FREQUENCY_DESCRIPTION = "At most one invitation per contact per this many days (0 = off); null = the org's rule"
DEFAULT_LANGUAGE_DESCRIPTION = "One of `languages`; defaults to the first of them"
TITLE_DESCRIPTION = (
    "What respondents see (emails, SMS, the page), per language; null: they see `name`. "
    "Once set, publishing needs it in every language of the survey"
)
PURPOSE_DESCRIPTION = (
    "`followup`: the survey a closed case sends (its answers stay out of the org's metrics unless a caller "
    "names the survey); `standard` otherwise. Not versioned: a change applies at once"
)
Title = Annotated[dict[Language, Name], Field(min_length=1, max_length=50)]


def _distinct(languages: list[str]) -> list[str]:
    if len(set(languages)) != len(languages):
        raise ValueError("languages must be distinct")
    return languages


Languages = Annotated[list[Language], Field(min_length=1, max_length=50), AfterValidator(_distinct)]


class SurveyCreate(BaseModel):
    """A new survey, created as a draft (version 1) with its questions in every one of its languages."""

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="Internal: respondents see `title` (or this name when it has none)")
    title: Title | None = Field(default=None, description=TITLE_DESCRIPTION)
    kind: SurveyKind
    audience: Audience = "customers"
    purpose: Purpose = Field(default="standard", description=PURPOSE_DESCRIPTION)
    touchpoint_id: TouchpointId | None = Field(default=None, description="A touchpoint of the org")
    languages: Languages
    default_language: Language | None = Field(default=None, description=DEFAULT_LANGUAGE_DESCRIPTION)
    questions: Questions
    contact_frequency_days: ContactFrequencyDays | None = Field(default=None, description=FREQUENCY_DESCRIPTION)


class SurveyUpdate(BaseModel):
    """A partial change: fields left out stay; `title`, `touchpoint_id` and `contact_frequency_days` may be null."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    title: Title | None = Field(default=None, description=TITLE_DESCRIPTION)
    kind: SurveyKind | None = None
    audience: Audience | None = None
    purpose: Purpose | None = Field(default=None, description=PURPOSE_DESCRIPTION)
    touchpoint_id: TouchpointId | None = None
    languages: Languages | None = None
    default_language: Language | None = None
    questions: Questions | None = None
    contact_frequency_days: ContactFrequencyDays | None = Field(default=None, description=FREQUENCY_DESCRIPTION)

    @field_validator("name", "kind", "audience", "purpose", "languages", "default_language", "questions")
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
    title: dict[str, str] | None = Field(description=TITLE_DESCRIPTION)
    kind: SurveyKind
    audience: Audience
    purpose: Purpose = Field(description=PURPOSE_DESCRIPTION)
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
    title: dict[str, str] | None
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


STAGE_POSITION_DESCRIPTION = (
    "Where the touchpoint's stage stands in its journey (stages sort by it, then by name); one number per "
    "stage: setting it on one touchpoint sets it for every touchpoint of that stage"
)
StagePosition = Annotated[int, Field(ge=0, le=1000, description=STAGE_POSITION_DESCRIPTION)]


class TouchpointCreate(BaseModel):
    """A new touchpoint; its name is unique within its journey."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    journey: JourneyLabel = Field(description="The journey it belongs to, e.g. `purchase`")
    stage: JourneyLabel = Field(description="The stage of that journey, e.g. `delivery`")
    stage_position: StagePosition | None = Field(
        default=None, description="Where its stage stands in the journey; left out: the stage's, else 0"
    )


class TouchpointUpdate(BaseModel):
    """A partial change of a touchpoint: rename, move to another journey or stage, order its stage, retire it.

    A retired touchpoint keeps its surveys and their history but no new survey may use it.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    journey: JourneyLabel | None = None
    stage: JourneyLabel | None = None
    stage_position: StagePosition | None = None
    status: TouchpointStatus | None = Field(default=None, description="`retired`: no new survey may use it")

    @field_validator("name", "journey", "stage", "stage_position", "status")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:  # only called for fields the client sent
            raise ValueError("may be left out but not null")
        return value


class TouchpointPublic(BaseModel):
    """A touchpoint as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    journey: str
    stage: str
    stage_position: int = Field(description=STAGE_POSITION_DESCRIPTION)
    status: TouchpointStatus
    created_at: dt.datetime
