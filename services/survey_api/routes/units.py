"""`/v1/units`: the organisation's hierarchy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api import units
from services.survey_api.schemas.units import UnitCreate, UnitPublic
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotencyDep, IdempotencyKeyHeader
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.schemas.common import UnitPath

router = APIRouter(prefix="/v1/units", tags=["units"], responses=problem_responses(401, 403, 422))
Reader = Annotated[Principal, Depends(require_scopes("surveys:read"))]
Writer = Annotated[Principal, Depends(require_scopes("surveys:write"))]


@router.post("", status_code=201, response_model=UnitPublic, responses=problem_responses(409))
async def create_unit(
    data: UnitCreate, request: Request, principal: Writer, idempotency: IdempotencyDep, key: IdempotencyKeyHeader = None
) -> JSONResponse:
    """Create a unit of the hierarchy (its parent must exist)."""

    async def create(session: AsyncSession) -> UnitPublic:
        unit = await units.create_unit(session=session, principal=principal, data=data)
        return UnitPublic.model_validate(unit)

    return await idempotency.run(request=request, principal=principal, key=key, payload=data, create=create)


@router.get("", response_model=Page[UnitPublic])
async def list_units(
    principal: Reader,
    session: SessionDep,
    under: Annotated[UnitPath | None, Query(description="Only this unit and its subtree")] = None,
    parent: Annotated[UnitPath | None, Query(description="Only the direct children of this unit")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[UnitPublic]:
    """The org's units in creation order, a page at a time."""
    items, next_cursor = await units.list_units(
        session=session, principal=principal, under=under, parent=parent, limit=limit, cursor=cursor
    )
    return Page(items=[UnitPublic.model_validate(u) for u in items], next_cursor=next_cursor)


@router.get("/{unit_id}", response_model=UnitPublic, responses=problem_responses(404))
async def get_unit(unit_id: str, principal: Reader, session: SessionDep) -> UnitPublic:
    """One unit."""
    return UnitPublic.model_validate(await units.get_unit(session=session, principal=principal, unit_id=unit_id))
