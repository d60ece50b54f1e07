"""`/v1/touchpoints`: the points of the customer journeys where surveys listen."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api import touchpoints
from services.survey_api.schemas.touchpoints import JourneyLabel, TouchpointCreate, TouchpointPublic
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotencyDep, IdempotencyKeyHeader
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/v1/touchpoints", tags=["touchpoints"], responses=problem_responses(401, 403, 422))
Reader = Annotated[Principal, Depends(require_scopes("surveys:read"))]
Writer = Annotated[Principal, Depends(require_scopes("surveys:write"))]


@router.post("", status_code=201, response_model=TouchpointPublic, responses=problem_responses(409))
async def create_touchpoint(
    data: TouchpointCreate,
    request: Request,
    principal: Writer,
    idempotency: IdempotencyDep,
    key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Add a touchpoint to a journey (scope `surveys:write`); 409 if the journey has one of that name."""

    async def create(session: AsyncSession) -> TouchpointPublic:
        touchpoint = await touchpoints.create_touchpoint(session=session, principal=principal, data=data)
        return TouchpointPublic.model_validate(touchpoint)

    return await idempotency.run(request=request, principal=principal, key=key, payload=data, create=create)


@router.get("", response_model=Page[TouchpointPublic])
async def list_touchpoints(
    principal: Reader,
    session: SessionDep,
    journey: Annotated[JourneyLabel | None, Query(description="Only touchpoints of this journey")] = None,
    stage: Annotated[JourneyLabel | None, Query(description="Only touchpoints of this stage")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[TouchpointPublic]:
    """The org's touchpoints in creation order, a page at a time (scope `surveys:read`)."""
    items, next_cursor = await touchpoints.list_touchpoints(
        session=session, principal=principal, journey=journey, stage=stage, limit=limit, cursor=cursor
    )
    return Page(items=[TouchpointPublic.model_validate(t) for t in items], next_cursor=next_cursor)


@router.get("/{touchpoint_id}", response_model=TouchpointPublic, responses=problem_responses(404))
async def get_touchpoint(touchpoint_id: str, principal: Reader, session: SessionDep) -> TouchpointPublic:
    """One touchpoint (scope `surveys:read`)."""
    touchpoint = await touchpoints.get_touchpoint(session=session, principal=principal, touchpoint_id=touchpoint_id)
    return TouchpointPublic.model_validate(touchpoint)
