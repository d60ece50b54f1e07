"""Payloads of the events survey_api sends loop_api, wrapped by the producers' builders (shared.events)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from shared.db import utcnow
from shared.events import (
    CONTACT_ERASED_EVENT,
    RESPONSE_COMPLETED,
    ContactErasedData,
    EventBatch,
    EventEnvelope,
    QuestionInfo,
    ResponseData,
    build_event,
)
from shared.ids import new_id

EVENTS_URL = "/internal/v1/events"

# The NPS+ survey of the survey_api tests: NPS, a why text, reasons with `other`, and a staff CSAT.
QUESTIONS = [
    QuestionInfo(key="nps", kind="nps", scale_min=0, scale_max=10),
    QuestionInfo(key="why", kind="text"),
    QuestionInfo(key="reasons", kind="reasons"),
    QuestionInfo(key="csat_staff", kind="csat", scale_min=1, scale_max=5),
]


def response_data(
    *,
    answers: dict[str, Any] | None = None,
    response_id: str | None = None,
    contact_id: str | None = "ct_1",
    unit: str | None = "emea/de/berlin",
    attributes: dict[str, Any] | None = None,
    survey_id: str = "srv_1",
    touchpoint_id: str | None = "tp_1",
    finished: bool = True,
    submitted_at: dt.datetime | None = None,
    questions: list[QuestionInfo] | None = None,
    audience: str = "customers",
    purpose: str = "standard",
) -> ResponseData:
    """The payload of a `response.*` event (a detractor saying why, unless told)."""
    at = submitted_at or utcnow()
    return ResponseData(
        response_id=response_id or new_id("resp"),
        survey_id=survey_id,
        survey_version=1,
        survey_kind="transactional",
        audience=audience,
        purpose=purpose,
        touchpoint_id=touchpoint_id,
        channel="email",
        source="hosted",
        unit=unit,
        contact_id=contact_id,
        attributes=attributes if attributes is not None else {"tier": "silver"},
        language="en",
        questions=questions if questions is not None else QUESTIONS,
        answers=answers if answers is not None else {"nps": 3, "why": "The parcel came late and broken"},
        finished=finished,
        submitted_at=at,
        completed_at=at if finished else None,
        updated_at=at,
    )


def response_event(
    org: str = "acme", event_type: str = RESPONSE_COMPLETED, event_id: str | None = None, **data: Any
) -> EventEnvelope:
    """A `response.completed` (or `.updated`) event of `org`; keyword arguments go to `response_data`."""
    return build_event(event_type, org=org, data=response_data(**data), id=event_id or new_id("evt"))


def same_response(event: EventEnvelope, event_type: str = RESPONSE_COMPLETED) -> EventEnvelope:
    """Another event (a new id) about the same response."""
    return event.model_copy(update={"id": new_id("evt"), "type": event_type})


def contact_erased(org: str, contact_id: str, response_ids: list[str] | None = None) -> EventEnvelope:
    """A `contact.erased` event."""
    data = ContactErasedData(contact_id=contact_id, erased_at=utcnow(), response_ids=response_ids or [])
    return CONTACT_ERASED_EVENT.envelope(org=org, data=data)


def batch(*events: EventEnvelope) -> dict[str, Any]:
    """The JSON body a dispatcher POSTs."""
    return EventBatch(events=list(events)).model_dump(mode="json")


async def deliver(client: httpx.AsyncClient, headers: dict[str, str], *events: EventEnvelope) -> dict[str, Any]:
    """POST the events as survey_api's dispatcher would; the receipt."""
    response = await client.post(EVENTS_URL, json=batch(*events), headers=headers)
    assert response.status_code == 200, response.text
    receipt: dict[str, Any] = response.json()
    return receipt
