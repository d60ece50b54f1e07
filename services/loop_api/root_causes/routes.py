"""`/v1/root-causes`: the taxonomy case owners pick from when closing a case."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from services.loop_api.clock import Now
from services.loop_api.root_causes import service as root_causes
from services.loop_api.root_causes import stats
from services.loop_api.root_causes.schemas import (
    RootCauseCode,
    RootCauseCreate,
    RootCausePublic,
    RootCauseStats,
    RootCauseUpdate,
    StatsBy,
)
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import invalid, problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.schemas.common import UnitPath

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1/root-causes",
    tags=["root-causes"],
    responses=problem_responses(401, 403, 422),
)
# The cases scopes cover the rules and root causes that cases use.
Reader = Annotated[Principal, Depends(require_scopes("cases:read"))]
Writer = Annotated[Principal, Depends(require_scopes("cases:write"))]
DEFAULT_STATS_DAYS = 30
MAX_STATS_DAYS = 366


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


@router.get("/stats", response_model=RootCauseStats)
async def root_cause_stats(
    principal: Reader,
    session: SessionDep,
    now: Now,
    start: Annotated[
        AwareDatetime | None, Query(alias="from", description="Closed at or after; default 30 days before `to`")
    ] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Closed before; default now")] = None,
    by: Annotated[StatsBy | None, Query(description="Also per unit, touchpoint or month (UTC) of closing")] = None,
    unit: Annotated[UnitPath | None, Query(description="Only cases of this unit and its subtree")] = None,
) -> RootCauseStats:
    """Which root causes close the caller's cases, where and when, and which are rising.

    Each code: cases closed in range carrying it, its share of the closed cases, per group, and against the
    previous period of equal length (change in points, two-proportion p-value, `rising` at p < 0.05).
    """
    end = end or now
    start = start or end - dt.timedelta(days=DEFAULT_STATS_DAYS)
    if start >= end:
        raise invalid("to", "must be after `from`", "empty_range")
    if end - start > dt.timedelta(days=MAX_STATS_DAYS):
        raise invalid("from", f"the range is at most {MAX_STATS_DAYS} days", "range_too_long")
    return await stats.root_cause_stats(session=session, principal=principal, start=start, end=end, by=by, unit=unit)


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
