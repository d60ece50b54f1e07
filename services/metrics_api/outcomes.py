"""metrics_api's copy of the outcomes survey_api records (`outcome.recorded`), and its erasure (`contact.erased`).

An outcome is kept once per `outcome_id` (a repeated event changes nothing). An outcome of a contact already
erased is not stored, and an erasure deletes the contact's outcomes, so value linkage never sees them again.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Table, delete
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.models import ErasedContact, OutcomeFact
from services.metrics_api.sql import insert_missing
from shared.consumer import Received
from shared.events import ContactErasedData, OutcomeRecordedData

OUTCOMES: Table = OutcomeFact.__table__  # type: ignore[attr-defined]
ERASED: Table = ErasedContact.__table__  # type: ignore[attr-defined]


def _utc(instant: dt.datetime) -> dt.datetime:
    return instant.replace(tzinfo=dt.UTC) if instant.tzinfo is None else instant.astimezone(dt.UTC)


async def _erased(session: AsyncSession, contacts: set[str]) -> set[tuple[str, str]]:
    """Which (org, contact) pairs among these contacts were erased."""
    if not contacts:
        return set()
    query = select(ERASED.c.org, ERASED.c.contact_id).where(ERASED.c.contact_id.in_(sorted(contacts)))
    return {(org, contact) for org, contact in (await session.exec(query)).all()}


async def apply_outcomes(session: AsyncSession, events: list[Received[OutcomeRecordedData]]) -> None:
    """Store each outcome once, unless its contact has been erased."""
    gone = await _erased(session, {received.data.contact_id for received in events})
    rows: dict[str, dict[str, Any]] = {}
    for received in events:
        org, data = received.envelope.org, received.data
        if (org, data.contact_id) in gone:
            continue
        rows[data.outcome_id] = {
            "outcome_id": data.outcome_id,
            "org": org,
            "contact_id": data.contact_id,
            "kind": data.kind,
            "value": data.value,
            "occurred_at": _utc(data.occurred_at),
        }
    await insert_missing(session, OUTCOMES, [rows[key] for key in sorted(rows)], key=["outcome_id"])


async def erase_outcomes(session: AsyncSession, events: list[Received[ContactErasedData]]) -> None:
    """Delete the outcomes of each erased contact."""
    for received in events:
        org, contact = received.envelope.org, received.data.contact_id
        await session.exec(delete(OUTCOMES).where(OUTCOMES.c.org == org, OUTCOMES.c.contact_id == contact))
