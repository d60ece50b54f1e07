"""Payloads of the events survey_api sends metrics_api, wrapped by its builders, posted as a dispatcher does."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import httpx

from shared.events import (
    CONTACT_ERASED_EVENT,
    INVITATION_EVENT,
    OUTCOME_RECORDED_EVENT,
    RESPONSE_COMPLETED,
    RESPONSE_UPDATED,
    ContactErasedData,
    EventBatch,
    EventEnvelope,
    InvitationData,
    OutcomeRecordedData,
    QuestionInfo,
    ResponseData,
    build_event,
    invitation_event_type,
)

_numbers = itertools.count(1)
DEFAULT_QUESTIONS = {
    "nps": QuestionInfo(key="nps", kind="nps", scale_min=0, scale_max=10),
    "csat": QuestionInfo(key="csat", kind="csat", scale_min=1, scale_max=5),
    "ces": QuestionInfo(key="ces", kind="ces", scale_min=1, scale_max=7),
    "reasons": QuestionInfo(key="reasons", kind="reasons"),
    "comment": QuestionInfo(key="comment", kind="text"),
}


def at(day: str, hour: int = 12) -> dt.datetime:
    """An instant of a day (UTC): `at("2026-03-01")` is noon."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=dt.UTC)


def days_ago(days: int, hour: int = 12) -> dt.datetime:
    """An instant `days` days before today (UTC), at `hour`."""
    return dt.datetime.combine(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days), dt.time(hour), tzinfo=dt.UTC)


def question(key: str, kind: str, low: int | None = None, high: int | None = None) -> QuestionInfo:
    """A question of another key or scale than the defaults."""
    return QuestionInfo(key=key, kind=kind, scale_min=low, scale_max=high)


def response_event(
    answers: dict[str, Any],
    *,
    org: str = "acme",
    response_id: str | None = None,
    questions: Sequence[QuestionInfo] | None = None,
    survey_id: str = "srv_1",
    unit: str | None = None,
    touchpoint_id: str | None = None,
    channel: str = "email",
    contact_id: str | None = None,
    attributes: dict[str, Any] | None = None,
    finished: bool = True,
    submitted_at: dt.datetime | None = None,
    updated_at: dt.datetime | None = None,
    event_type: str | None = None,
    audience: str = "customers",
    purpose: str = "standard",
    language: str | None = "en",
    default_language: str | None = None,
) -> EventEnvelope:
    """A `response.completed` (or `.updated`) event whose ResponseData is built like survey_api builds it."""
    submitted = submitted_at or days_ago(1)
    data = ResponseData(
        response_id=response_id or f"rsp_{next(_numbers):06d}",
        survey_id=survey_id,
        survey_version=1,
        survey_kind="relationship",
        audience=audience,
        purpose=purpose,
        touchpoint_id=touchpoint_id,
        channel=channel,
        source="partner",
        unit=unit,
        contact_id=contact_id,
        attributes=attributes or {},
        language=language,
        default_language=default_language,
        questions=list(questions) if questions is not None else [DEFAULT_QUESTIONS[k] for k in answers],
        answers=answers,
        finished=finished,
        submitted_at=submitted,
        completed_at=submitted if finished else None,
        updated_at=updated_at or submitted,
    )
    kind = event_type or (RESPONSE_COMPLETED if finished else RESPONSE_UPDATED)
    return build_event(kind, org=org, data=data)


def scored(scores: Iterable[int], key: str = "nps", **options: Any) -> list[EventEnvelope]:
    """One finished response per score, each answering only question `key`."""
    return [response_event({key: score}, **options) for score in scores]


def nps_scores(promoters: int, passives: int, detractors: int) -> list[int]:
    """Scores with that many promoters (9-10), passives (7-8) and detractors (0-6), spread over each band."""
    return (
        [(9, 10)[i % 2] for i in range(promoters)]
        + [(7, 8)[i % 2] for i in range(passives)]
        + [i % 7 for i in range(detractors)]
    )


def erased_event(contact_id: str, response_ids: Sequence[str], *, org: str = "acme") -> EventEnvelope:
    """`contact.erased` as survey_api's erasure sends it."""
    data = ContactErasedData(contact_id=contact_id, erased_at=dt.datetime.now(dt.UTC), response_ids=list(response_ids))
    return CONTACT_ERASED_EVENT.envelope(org=org, data=data)


def invitation_event(
    invitation_id: str,
    status: str,
    when: dt.datetime,
    *,
    org: str = "acme",
    survey_id: str = "srv_1",
    channel: str = "email",
    unit: str | None = None,
) -> EventEnvelope:
    """`invitation.<status>` of survey_api's delivery work."""
    data = InvitationData(
        invitation_id=invitation_id,
        distribution_id="dst_1",
        survey_id=survey_id,
        channel=channel,
        contact_id="cnt_1",
        unit=unit,
        touchpoint_id=None,
        status=status,
        at=when,
    )
    return INVITATION_EVENT.envelope(org=org, data=data, event_type=invitation_event_type(status))


def outcome_event(
    contact_id: str, kind: str, when: dt.datetime, *, value: float | None = None, org: str = "acme"
) -> EventEnvelope:
    """`outcome.recorded` as survey_api's outcomes send it."""
    number = next(_numbers)
    data = OutcomeRecordedData(
        outcome_id=f"out_{number:06d}",
        external_id=f"crm-{number}",
        contact_id=contact_id,
        kind=kind,
        value=value,
        occurred_at=when,
        recorded_at=dt.datetime.now(dt.UTC),
    )
    return OUTCOME_RECORDED_EVENT.envelope(org=org, data=data)


async def post_events(
    client: httpx.AsyncClient, headers: dict[str, str], events: Sequence[EventEnvelope]
) -> dict[str, int]:
    """POST the events to `/internal/v1/events` in batches of up to 500, as the dispatcher does; the summed receipt."""
    total = {"processed": 0, "duplicates": 0, "ignored": 0}
    for start in range(0, len(events), 500):
        batch = EventBatch(events=list(events[start : start + 500]))
        response = await client.post("/internal/v1/events", json=batch.model_dump(mode="json"), headers=headers)
        assert response.status_code == 200, response.text
        for key, value in response.json().items():
            total[key] += value
    return total
