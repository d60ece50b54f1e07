"""`/v1/admin/outbox`: what a service still owes its subscribers, what failed, and a retry button (scope `admin`)."""

# No `from __future__ import annotations`: FastAPI must see the concrete types of the closures below.
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import update
from sqlmodel import col, select

from shared.auth import Principal, require_scopes
from shared.db import SessionDep, utcnow
from shared.errors import Conflict, NotFound, problem_responses
from shared.outbox import OutboxEventFields
from shared.pagination import CursorQuery, LimitQuery, Page, visible_page
from shared.webhooks.delivery import in_units

OutboxStatus = Literal["pending", "delivered", "dead"]


class OutboxEntry(BaseModel):
    """One event in a service's outbox and where its delivery stands."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    event_type: str
    status: str
    destinations: list[str]
    attempts: int
    occurred_at: dt.datetime
    available_at: dt.datetime
    delivered_at: dt.datetime | None
    last_error: str | None


def outbox_admin_router(table: type[OutboxEventFields]) -> APIRouter:
    """List the caller's org's outbox events by status, and send a failed one again."""
    router = APIRouter(prefix="/v1/admin/outbox", tags=["admin"], responses=problem_responses(401, 403, 422))
    admin = Annotated[Principal, Depends(require_scopes("admin"))]

    async def list_outbox(
        principal: admin,
        session: SessionDep,
        status: Annotated[OutboxStatus | None, Query(description="pending, delivered or dead")] = None,
        limit: LimitQuery = 50,
        cursor: CursorQuery = None,
    ) -> Page[OutboxEntry]:
        """The org's outbox events, oldest first; `status=dead` shows what gave up (only the caller's units')."""
        statement = select(table).where(table.org == principal.org)
        if status is not None:
            statement = statement.where(table.status == status)
        items, next_cursor = await visible_page(
            session,
            statement,
            col(table.id),
            keep=lambda r: in_units(principal.units, r.payload),
            limit=limit,
            cursor=cursor,
        )
        return Page(items=[OutboxEntry.model_validate(r) for r in items], next_cursor=next_cursor)

    async def retry_outbox_event(event_id: str, principal: admin, session: SessionDep) -> OutboxEntry:
        """Deliver a pending or dead event again now, with a fresh attempt budget."""
        row = await session.get(table, event_id)
        if row is None or row.org != principal.org or not in_units(principal.units, row.payload):
            raise NotFound(f"No outbox event {event_id!r}")
        if row.status == "delivered":
            raise Conflict("This event was delivered to every subscriber; nothing to retry")
        await session.exec(
            update(table)
            .where(col(table.id) == event_id)
            .values(status="pending", attempts=0, available_at=utcnow(), last_error=None)
        )
        await session.refresh(row)
        return OutboxEntry.model_validate(row)

    router.add_api_route("", list_outbox, methods=["GET"], response_model=Page[OutboxEntry])
    router.add_api_route(
        "/{event_id}/retry",
        retry_outbox_event,
        methods=["POST"],
        response_model=OutboxEntry,
        responses=problem_responses(404, 409),
    )
    return router
