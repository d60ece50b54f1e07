"""`/v1/root-causes`: the taxonomy case owners pick from when closing a case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from services.loop_api.root_causes import service as root_causes
from services.loop_api.root_causes.schemas import RootCauseCode, RootCauseCreate, RootCausePublic, RootCauseUpdate
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1/root-causes",
    tags=["root-causes"],
    responses=problem_responses(401, 403, 422),
)
# The cases scopes cover the rules and root causes that cases use.
Reader = Annotated[Principal, Depends(require_scopes("cases:read"))]
Writer = Annotated[Principal, Depends(require_scopes("cases:write"))]


@router.post("", status_code=201, response_model=RootCausePublic, responses=problem_responses(409))
async def create_root_cause(data: RootCauseCreate, principal: Writer, session: IdempotentSession) -> RootCausePublic:
    """Create a root-cause code (its parent must exist; dotted codes should extend their parent's)."""
    root_cause = await root_causes.create_root_cause(session=session, principal=principal, data=data)
    return RootCausePublic.model_validate(root_cause)


@router.get("", response_model=Page[RootCausePublic])
async def list_root_causes(
    principal: Reader,
    session: SessionDep,
    parent_code: Annotated[RootCauseCode | None, Query(description="Only the direct children of this code")] = None,
    active: Annotated[bool | None, Query(description="Only active (true) or retired (false) codes")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=64, description="Codes containing this text, any case")
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[RootCausePublic]:
    """The org's root causes in creation order, a page at a time."""
    items, next_cursor = await root_causes.list_root_causes(
        session=session,
        principal=principal,
        parent_code=parent_code,
        active=active,
        q=q,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[RootCausePublic.model_validate(r) for r in items], next_cursor=next_cursor)


@router.get("/{root_cause_id}", response_model=RootCausePublic, responses=problem_responses(404))
async def get_root_cause(root_cause_id: str, principal: Reader, session: SessionDep) -> RootCausePublic:
    """One root cause."""
    root_cause = await root_causes.get_root_cause(session=session, principal=principal, root_cause_id=root_cause_id)
    return RootCausePublic.model_validate(root_cause)


@router.patch("/{root_cause_id}", response_model=RootCausePublic, responses=problem_responses(404, 409))
async def update_root_cause(
    root_cause_id: str, data: RootCauseUpdate, principal: Writer, session: SessionDep
) -> RootCausePublic:
    """Change a code's label, description or active flag; its code and parent never change."""
    root_cause = await root_causes.update_root_cause(
        session=session, principal=principal, root_cause_id=root_cause_id, data=data
    )
    return RootCausePublic.model_validate(root_cause)
