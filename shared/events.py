"""The event envelope: the contract of every event one service sends another."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from shared.db import utcnow
from shared.ids import new_id


class EventEnvelope(BaseModel):
    """One event: a unique id (consumers dedupe on it), its type, tenant, source, time and payload."""

    id: str = Field(default_factory=lambda: new_id("evt"), max_length=64)
    type: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", max_length=100)
    org: str = Field(min_length=1, max_length=100)
    source: str = Field(max_length=50)
    occurred_at: dt.datetime = Field(default_factory=utcnow)
    version: int = 1
    data: dict[str, Any] = Field(default_factory=dict)


class QuestionInfo(BaseModel):
    """What a consumer needs to know of a question to score its answer."""

    key: str
    kind: str
    scale_min: int | None = None
    scale_max: int | None = None


class ResponseData(BaseModel):
    """Payload of `response.completed` and `response.updated`: the response and its context, self-contained."""

    response_id: str
    survey_id: str
    survey_version: int
    survey_kind: str
    audience: str = "customers"  # `customers` or `employees` (DESIGN §3 Audience); older events may lack it
    purpose: str = "standard"  # `standard` or `followup` (the survey a closed case sends); older events lack it
    touchpoint_id: str | None
    channel: str
    source: str
    unit: str | None
    contact_id: str | None
    attributes: dict[str, Any]
    language: str | None
    questions: list[QuestionInfo]
    answers: dict[str, Any]
    finished: bool
    submitted_at: dt.datetime
    completed_at: dt.datetime | None
    updated_at: dt.datetime


class ContactErasedData(BaseModel):
    """Payload of `contact.erased`: every service removes this contact's personal data from its copies."""

    contact_id: str
    erased_at: dt.datetime
    response_ids: list[str] = Field(default_factory=list)


RESPONSE_COMPLETED = "response.completed"
RESPONSE_UPDATED = "response.updated"
CONTACT_ERASED = "contact.erased"

# Who receives which events (DESIGN §2): the routes between the services, part of their contract.
# A prefix ending in "." matches every event type that starts with it.
SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    "response.": ("metrics", "loop"),
    CONTACT_ERASED: ("metrics", "loop"),
    "invitation.": ("metrics",),
    "followup.": ("survey",),
    "case.": ("metrics",),
}


def subscribers_of(event_type: str) -> tuple[str, ...]:
    """The services (`survey`, `metrics`, `loop`) that must receive events of this type."""
    found: list[str] = []
    for pattern, services in SUBSCRIBERS.items():
        if event_type == pattern or (pattern.endswith(".") and event_type.startswith(pattern)):
            found += [s for s in services if s not in found]
    return tuple(found)


class EventBatch(BaseModel):
    """What a dispatcher POSTs to `/internal/v1/events`: up to 500 events, in the order they happened."""

    events: list[EventEnvelope] = Field(min_length=1, max_length=500)


class EventReceipt(BaseModel):
    """What a consumer did with a batch: newly processed, already seen (duplicates), or of no interest."""

    processed: int
    duplicates: int
    ignored: int


class InvitationData(BaseModel):
    """Payload of `invitation.<status>` (sent, delivered, opened, displayed, started, completed, bounced, expired).

    Response rates count `completed` over `delivered`. Email and SMS are delivered when sent and not bounced
    (or on a provider receipt); a `link` is delivered when it is handed out; `web` and `in_app` intercepts are
    delivered only when displayed, so their response rates are honest.
    """

    invitation_id: str
    distribution_id: str | None
    survey_id: str
    channel: str
    contact_id: str | None
    unit: str | None
    touchpoint_id: str | None
    status: str
    at: dt.datetime
    response_id: str | None = None


def invitation_event_type(status: str) -> str:
    """The event type of an invitation reaching `status` (`invitation.sent`, …)."""
    return f"invitation.{status}"
