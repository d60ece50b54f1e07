"""`/v1/targets`: goals for a metric on a scope over a period (read: `metrics:read`; write: `admin`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.metrics_api import targets
from services.metrics_api.schemas import Metric, TargetCreate, TargetPublic, TargetUpdate
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.schemas.common import UnitPath

router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/targets", tags=["targets"], responses=problem_responses(401, 403, 422)
)
Reader = Annotated[Principal, Depends(require_scopes("metrics:read"))]
Writer = Annotated[Principal, Depends(require_scopes("admin"))]


@router.post("", status_code=201, response_model=TargetPublic, responses=problem_responses(409))
async def create_target(data: TargetCreate, principal: Writer, session: IdempotentSession) -> TargetPublic:
    """Set a goal for a metric on a scope over a period (scope `admin`); 409 if one overlaps it."""
    target = await targets.create_target(session=session, principal=principal, data=data)
    return TargetPublic.model_validate(target)


@router.get("", response_model=Page[TargetPublic])
async def list_targets(
    principal: Reader,
    session: SessionDep,
    metric: Annotated[Metric | None, Query(description="Only targets of this metric")] = None,
    unit: Annotated[UnitPath | None, Query(description="Only targets of exactly this unit")] = None,
    active_on: Annotated[dt.date | None, Query(description="Only targets whose period contains this day")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[TargetPublic]:
    """The org's targets in creation order, a page at a time (scope `metrics:read`)."""
    items, next_cursor = await targets.list_targets(
        session=session,
        principal=principal,
        metric=metric,
        unit=unit,
        active_on=active_on,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[TargetPublic.model_validate(t) for t in items], next_cursor=next_cursor)


@router.get("/{target_id}", response_model=TargetPublic, responses=problem_responses(404))
async def get_target(target_id: str, principal: Reader, session: SessionDep) -> TargetPublic:
    """One target (scope `metrics:read`)."""
    target = await targets.get_target(session=session, principal=principal, target_id=target_id)
    return TargetPublic.model_validate(target)


@router.patch("/{target_id}", response_model=TargetPublic, responses=problem_responses(404, 409))
async def update_target(target_id: str, data: TargetUpdate, principal: Writer, session: SessionDep) -> TargetPublic:
    """Change a target's name, value or period, revalidated as on create (scope `admin`)."""
    target = await targets.update_target(session=session, principal=principal, target_id=target_id, data=data)
    return TargetPublic.model_validate(target)


@router.delete("/{target_id}", status_code=204, response_class=Response, responses=problem_responses(404))
async def delete_target(target_id: str, principal: Writer, session: SessionDep) -> Response:
    """Remove a target (scope `admin`)."""
    await targets.delete_target(session=session, principal=principal, target_id=target_id)
    return Response(status_code=204)
