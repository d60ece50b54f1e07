"""Wire models of responses: a partner's single and batch posts, partial updates, and what comes back."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.survey_api.contacts.schemas import ContactUpsert
from shared.errors import FieldError
from shared.schemas.common import Channel, Instant, Language, UnitPath

MAX_BATCH = 1000
MAX_ANSWERS = 200

_ANSWER_VALUE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer"},
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}},
        {"type": "null"},
    ]
}
Answers = dict[str, Any]
ANSWERS_FIELD_DESCRIPTION = (
    "Answers keyed by question key: an integer for scored questions (nps, csat, ces, rating, emotion 1-5), "
    "`yes`, `partly` or `no` for success, a string for text and single_choice, "
    "a list of codes for multi_choice and reasons; `<key>_other` carries the text of an `other` choice; "
    "null leaves a question unanswered."
)


def answers_field(**default: Any) -> Any:
    """The `answers` field: checked against the survey version by our own code, so every problem is named."""
    extra: dict[str, Any] = {"additionalProperties": _ANSWER_VALUE_SCHEMA, "propertyNames": {"maxLength": 60}}
    return Field(
        **default,
        max_length=MAX_ANSWERS,
        description=ANSWERS_FIELD_DESCRIPTION,
        json_schema_extra=extra,
    )


class ResponseCreate(BaseModel):
    """A response from a partner system: who (a contact, or nobody), where, when, and the answers."""

    model_config = ConfigDict(extra="forbid")

    survey_id: str = Field(min_length=1, max_length=40)
    external_id: str | None = Field(
        default=None, min_length=1, max_length=200, description="The partner's id: unique per survey"
    )
    contact: ContactUpsert | None = Field(default=None, description="Upserted by external_id; omit for anonymous")
    channel: Channel = "api"
    unit: UnitPath | None = Field(default=None, description="Defaults to the contact's unit")
    language: Language | None = None
    submitted_at: Instant | None = Field(default=None, description="Defaults to now; must carry an offset")
    answers: Answers = answers_field()
    finished: bool = True


class ResponseUpdate(BaseModel):
    """More answers for a partial response (merged; null removes one) and, maybe, that it is finished."""

    model_config = ConfigDict(extra="forbid")

    answers: Answers = answers_field(default_factory=dict)
    finished: bool | None = None


class ResponsePublic(BaseModel):
    """A response as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    survey_id: str
    survey_version: int
    external_id: str | None
    contact_id: str | None
    channel: str
    source: str
    language: str | None
    unit: str | None
    touchpoint_id: str | None
    attributes: dict[str, Any]
    answers: dict[str, Any]
    finished: bool
    submitted_at: dt.datetime
    completed_at: dt.datetime | None
    anonymised_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class BatchRequest(BaseModel):
    """Up to 1,000 responses; each item is checked on its own so one bad item rejects only itself."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class BatchItem(BaseModel):
    """An accepted or duplicate item of a batch and the response id it has."""

    index: int
    id: str
    status: Literal["accepted", "duplicate"]


class BatchRejection(BaseModel):
    """A rejected item of a batch and every problem it has."""

    index: int
    errors: list[FieldError]


class BatchResult(BaseModel):
    """What happened to every item of a batch."""

    accepted: int
    duplicates: int
    rejected: list[BatchRejection]
    items: list[BatchItem]


ExportFormat = Literal["csv", "ndjson"]
