"""Wire models of the public invitation API: what an app renders, and the answers it sends back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.survey_api.catalog.questions import QuestionKind, ShowIf
from services.survey_api.responses.schemas import Answers, answers_field


class PublicOption(BaseModel):
    """One choice, labelled in the chosen language."""

    code: str
    label: str


class ScaleLabels(BaseModel):
    """What the ends of a scored question's scale mean, in the chosen language."""

    low: str = Field(description="The label of `scale_min` (e.g. “Not at all likely”)")
    high: str = Field(description="The label of `scale_max` (e.g. “Extremely likely”)")


class PublicQuestion(BaseModel):
    """A question as a respondent sees it: its prompt and labels in one language, its scale, its logic."""

    key: str
    kind: QuestionKind
    prompt: str
    required: bool
    scale_min: int | None = None
    scale_max: int | None = None
    scale_labels: ScaleLabels | None = None
    point_labels: dict[str, str] | None = Field(
        default=None, description="emotion: the label of each point 1-5 (its five faces), to show beside each one"
    )
    options: list[PublicOption] | None = Field(
        default=None, description="Choices; for `success` its three answers yes, partly, no with their labels"
    )
    allow_other: bool = False
    other_key: str | None = Field(default=None, description="The answer key of the `other` text, when allowed")
    other_label: str | None = None
    max_length: int | None = None
    show_if: ShowIf | None = Field(
        default=None, description="Show the question only when this holds for an earlier scored or success answer"
    )


class PublicSurvey(BaseModel):
    """The published survey version the invitation answers."""

    id: str
    title: str = Field(description="The survey's title in `language` (its internal name when it has no title)")
    version: int
    questions: list[PublicQuestion]


class PublicInvitation(BaseModel):
    """What an app needs to render an invitation's survey, and the answers saved so far."""

    status: str = Field(description="The invitation's status: opened, or started once answers were saved")
    language: str = Field(description="The language of prompts and labels (the respondent's, else the default)")
    languages: list[str] = Field(description="The languages the survey has (`?lang=` picks one)")
    expires_at: dt.datetime | None
    survey: PublicSurvey
    response_id: str | None = Field(description="The partial response saved so far, if any")
    answers: dict[str, Any] = Field(description="The answers saved so far (empty before the first save)")


class PublicResponseCreate(BaseModel):
    """Answers for an invitation: merged into the partial response saved so far (null removes an answer)."""

    model_config = ConfigDict(extra="forbid")

    answers: Answers = answers_field()
    finished: bool = Field(default=True, description="false saves progress; true checks the response whole")


class PublicResponseResult(BaseModel):
    """The response the answers were stored in, and whether it is finished."""

    response_id: str
    finished: bool
