"""Erasure of a contact: a tombstone, its responses anonymised and one `contact.erased` event, in one transaction.

Anonymising keeps what the metrics need and nothing that can name a person: a response loses its contact
link and its attribute snapshot, and keeps only the answers to the non-text questions of its survey
version (scores and choice codes). Free text (`text` answers, `<key>_other`, and any answer key the
version does not know) goes. Should the version be missing, only numeric answers are kept. The same is
done to the copies of those responses inside `response.*` events held in the outbox, and the stored
answers of `Idempotency-Key` requests that answered with the contact or one of those responses are deleted
(a retry of such a request after the erasure runs again instead of replaying personal data). The contact's
outcomes are deleted; metrics_api deletes its copies on `contact.erased`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import SurveyVersion
from services.survey_api.contacts.directory import get_contact
from services.survey_api.contacts.models import Contact
from services.survey_api.contacts.outcomes import erase_outcomes
from services.survey_api.models import IdempotencyRecord, OutboxEvent
from services.survey_api.responses.models import SurveyResponse
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import NotFound
from shared.events import CONTACT_ERASED_EVENT, RESPONSE_COMPLETED, RESPONSE_UPDATED, ContactErasedData
from shared.outbox import add_event

CHUNK_SIZE = 1000
CONTACTS: Table = Contact.__table__  # type: ignore[attr-defined]
RESPONSES: Table = SurveyResponse.__table__  # type: ignore[attr-defined]
VersionKey = tuple[str, int]


def kept_answers(answers: Mapping[str, Any], kept_keys: frozenset[str] | None) -> dict[str, Any]:
    """The answers an anonymised response keeps: those of `kept_keys`, or only numbers when unknown."""
    if kept_keys is None:
        return {k: v for k, v in answers.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return {k: v for k, v in answers.items() if k in kept_keys}


async def _kept_keys(session: AsyncSession, org: str, pairs: Iterable[VersionKey]) -> dict[VersionKey, frozenset[str]]:
    """For each (survey, version): the keys of its non-text questions, read in one query."""
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = await session.exec(
        select(SurveyVersion.survey_id, SurveyVersion.version, SurveyVersion.questions).where(
            SurveyVersion.org == org, col(SurveyVersion.survey_id).in_({survey for survey, _ in wanted})
        )
    )
    return {
        (survey, version): frozenset(q["key"] for q in questions if q.get("kind") != "text")
        for survey, version, questions in rows
        if (survey, version) in wanted
    }


async def _tombstone(session: AsyncSession, contact_id: str, now: dt.datetime) -> None:
    """Clear every personal field; 404 when a concurrent erasure got there first."""
    result = await session.exec(
        update(CONTACTS)
        .where(CONTACTS.c.id == contact_id, CONTACTS.c.erased_at.is_(None))
        .values(
            external_id=None,
            email=None,
            phone=None,
            name=None,
            locale=None,
            unit=None,
            attributes={},
            consent={},
            erased_at=now,
            updated_at=now,
        )
    )
    if result.rowcount != 1:
        raise NotFound(f"No contact {contact_id!r}")


async def _anonymise_responses(session: AsyncSession, org: str, contact_id: str, now: dt.datetime) -> list[str]:
    """Unlink and strip every response of the contact (one read, one batched write); their ids."""
    rows = (
        await session.exec(
            select(SurveyResponse.id, SurveyResponse.survey_id, SurveyResponse.survey_version, SurveyResponse.answers)
            .where(SurveyResponse.org == org, SurveyResponse.contact_id == contact_id)
            .order_by(col(SurveyResponse.id))
        )
    ).all()
    if not rows:
        return []
    kept = await _kept_keys(session, org, ((survey, version) for _, survey, version, _ in rows))
    params = [
        {
            "response_id": response_id,
            "answers": kept_answers(answers, kept.get((survey, version))),
            "contact_id": None,
            "attributes": {},
            "anonymised_at": now,
            "updated_at": now,
        }
        for response_id, survey, version, answers in rows
    ]
    await session.exec(update(RESPONSES).where(RESPONSES.c.id == bindparam("response_id")), params=params)
    await _scrub_outbox(session, org, [r[0] for r in rows], kept)
    return [r[0] for r in rows]


def _scrubbed(payload: dict[str, Any], kept: dict[VersionKey, frozenset[str]]) -> dict[str, Any]:
    data = dict(payload.get("data") or {})
    survey, number = data.get("survey_id"), data.get("survey_version")
    keys = kept.get((survey, number)) if isinstance(survey, str) and isinstance(number, int) else None
    data.update(contact_id=None, attributes={}, answers=kept_answers(data.get("answers") or {}, keys))
    return {**payload, "data": data}


async def _scrub_outbox(
    session: AsyncSession, org: str, response_ids: Sequence[str], kept: dict[VersionKey, frozenset[str]]
) -> None:
    """Anonymise the copies of these responses in `response.*` events of the outbox (one read per 1000)."""
    response_id = col(OutboxEvent.payload)[("data", "response_id")].as_string()
    for start in range(0, len(response_ids), CHUNK_SIZE):
        events = await session.exec(
            select(OutboxEvent).where(
                OutboxEvent.org == org,
                col(OutboxEvent.event_type).in_((RESPONSE_COMPLETED, RESPONSE_UPDATED)),
                response_id.in_(response_ids[start : start + CHUNK_SIZE]),
            )
        )
        for event in events:
            event.payload = _scrubbed(event.payload, kept)


async def _forget_idempotent_answers(session: AsyncSession, org: str, ids: Sequence[str]) -> None:
    """Delete the stored answers (which hold personal data) of keyed requests that answered with `ids`."""
    answered = col(IdempotencyRecord.response_body)["id"].as_string()
    for start in range(0, len(ids), CHUNK_SIZE):
        await session.exec(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.org) == org, answered.in_(ids[start : start + CHUNK_SIZE])
            )
        )


async def erase_contact(*, session: AsyncSession, principal: Principal, contact_id: str) -> ContactErasedData:
    """Erase a contact of the caller's org and units (404 otherwise, and the second time): all or nothing."""
    await get_contact(session=session, principal=principal, contact_id=contact_id)
    now = utcnow()
    await _tombstone(session, contact_id, now)
    response_ids = await _anonymise_responses(session, principal.org, contact_id, now)
    outcome_ids = await erase_outcomes(session, principal.org, contact_id)
    await _forget_idempotent_answers(session, principal.org, [contact_id, *response_ids, *outcome_ids])
    data = ContactErasedData(contact_id=contact_id, erased_at=now, response_ids=response_ids)
    add_event(session, OutboxEvent, CONTACT_ERASED_EVENT.envelope(org=principal.org, data=data))
    await session.flush()
    return data
