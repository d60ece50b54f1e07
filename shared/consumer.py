"""`POST /internal/v1/events`: receive a batch of events at least once, process each exactly once (inbox)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from fastapi import APIRouter, Depends
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import current_service
from shared.db import SessionDep, insert_ignoring_conflicts
from shared.errors import problem_responses
from shared.events import EventBatch, EventEnvelope, EventReceipt
from shared.outbox import InboxFields

EventHandler = Callable[[AsyncSession, list[EventEnvelope]], Awaitable[None]]


def wanted(event_type: str, accepts: Collection[str]) -> bool:
    """Whether a type is in `accepts` (exact types, or prefixes ending in `.`)."""
    return any(event_type == a or (a.endswith(".") and event_type.startswith(a)) for a in accepts)


async def _claim_new(session: AsyncSession, inbox: type[InboxFields], events: list[EventEnvelope]) -> set[str]:
    """Record the events not seen before in the inbox; the ids that are ours to process now."""
    ids = {e.id for e in events}
    seen = set((await session.exec(select(inbox.event_id).where(col(inbox.event_id).in_(ids)))).all())
    fresh = {e.id: e for e in events if e.id not in seen}
    if not fresh:
        return set()
    rows = [{"event_id": e.id, "event_type": e.type, "org": e.org} for e in fresh.values()]
    statement = insert_ignoring_conflicts(session, inbox.__table__, conflict_columns=["event_id"])  # type: ignore[attr-defined]
    # A concurrent delivery of the same event blocks here until it commits, then inserts nothing: a duplicate.
    inserted = await session.exec(statement.returning(inbox.__table__.c.event_id), params=rows)  # type: ignore[attr-defined]
    return {row[0] for row in inserted.all()}


def events_router(*, inbox: type[InboxFields], accepts: Collection[str], handler: EventHandler) -> APIRouter:
    """The consumer endpoint of a service: dedupe by event id, then hand the new wanted events to `handler`."""
    router = APIRouter(prefix="/internal/v1", tags=["internal"], responses=problem_responses(401, 403, 422))

    @router.post("/events", response_model=EventReceipt, dependencies=[Depends(current_service)])
    async def receive_events(batch: EventBatch, session: SessionDep) -> EventReceipt:
        """Events from another service's outbox (service tokens only); a repeat is harmless, order is not assumed."""
        unique = list({e.id: e for e in batch.events}.values())
        relevant = [e for e in unique if wanted(e.type, accepts)]
        mine = await _claim_new(session, inbox, relevant)
        fresh = [e for e in relevant if e.id in mine]
        if fresh:
            await handler(session, fresh)
        return EventReceipt(
            processed=len(fresh),
            duplicates=len(batch.events) - len(unique) + len(relevant) - len(fresh),
            ignored=len(unique) - len(relevant),
        )

    return router
