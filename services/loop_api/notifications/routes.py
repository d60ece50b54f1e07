"""`GET /v1/notifications`: the emails owed to people and how their delivery stands (`cases:read`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.loop_api.notifications import service as notifications
from services.loop_api.notifications.schemas import Kind, NotificationPublic, Status
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(tags=["notifications"], responses=problem_responses(401, 403, 422))
Reader = Annotated[Principal, Depends(require_scopes("cases:read"))]


@router.get("/v1/notifications", response_model=Page[NotificationPublic])
async def list_notifications(
    principal: Reader,
    session: SessionDep,
    recipient: Annotated[str | None, Query(max_length=255, description="A person's handle")] = None,
    kind: Kind | None = None,
    status: Status | None = None,
    case_id: Annotated[str | None, Query(max_length=40)] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[NotificationPublic]:
    """The org's notifications, oldest first; a unit-restricted caller sees those about its units' cases only."""
    filters = notifications.NotificationFilters(recipient=recipient, kind=kind, status=status, case_id=case_id)
    items, next_cursor = await notifications.list_notifications(
        session=session, principal=principal, filters=filters, limit=limit, cursor=cursor
    )
    return Page(items=[NotificationPublic.model_validate(n) for n in items], next_cursor=next_cursor)
