"""`GET /internal/v1/events?after=`: a service's events in order, so a consumer can rebuild or catch up.

Events are read from the outbox (kept after delivery). Ids grow with time, but two transactions may commit
out of id order; the feed therefore only shows events older than a few seconds (`SETTLE`), so a consumer
that tails it does not step past an event that is still committing.
"""

# No `from __future__ import annotations`: FastAPI must see the concrete types of the closures below.
import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlmodel import col, select

from shared.auth import current_service
from shared.db import SessionDep, utcnow
from shared.errors import problem_responses
from shared.outbox import OutboxEventFields
from shared.pagination import CursorQuery, LimitQuery, encode_cursor, keyset, page_of

SETTLE = dt.timedelta(seconds=5)


class EventFeedPage(BaseModel):
    """A page of events (the envelopes as delivered) and the cursor to continue after them."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def event_feed_router(table: type[OutboxEventFields]) -> APIRouter:
    """The feed of every event this service has produced, oldest first (service tokens only)."""
    router = APIRouter(prefix="/internal/v1", tags=["internal"], responses=problem_responses(401, 403, 422))

    async def list_events(session: SessionDep, limit: LimitQuery = 500, cursor: CursorQuery = None) -> EventFeedPage:
        """Events after `cursor` (all orgs: for services rebuilding their copies), settled ones only."""
        statement = select(table).where(col(table.occurred_at) < utcnow() - SETTLE)
        rows = (await session.exec(keyset(statement, col(table.id), limit=limit, cursor=cursor))).all()
        items, next_cursor = page_of(rows, limit=limit, key_of=lambda row: row.id)
        if next_cursor is None:  # the end for now: a tailing consumer continues from here later
            next_cursor = encode_cursor(items[-1].id) if items else cursor
        return EventFeedPage(items=[row.payload for row in items], next_cursor=next_cursor)

    router.add_api_route(
        "/events",
        list_events,
        methods=["GET"],
        response_model=EventFeedPage,
        dependencies=[Depends(current_service)],
    )
    return router
