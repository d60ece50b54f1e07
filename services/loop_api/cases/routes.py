"""`/v1/cases`: the inbox of unhappy customers, each case's timeline, its changes and activities, the stats."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Response

from services.loop_api.cases import lifecycle, stats
from services.loop_api.cases import service as cases
from services.loop_api.cases.filters import CaseFiltersDep
from services.loop_api.cases.schemas import (
    ActivityCreate,
    CaseDetail,
    CasePublic,
    CaseStats,
    CaseUpdate,
    GroupBy,
    TimelineEntry,
)
from services.loop_api.clock import Now
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import invalid, problem_responses
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.schemas.common import Instant, UnitPath

router = APIRouter(prefix="/v1/cases", tags=["cases"], responses=problem_responses(401, 403, 422))
Reader = Annotated[Principal, Depends(require_scopes("cases:read"))]
Writer = Annotated[Principal, Depends(require_scopes("cases:write"))]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The case's ETag, from its last read")]
ETAG = {"ETag": {"description": "The case's version, for If-Match", "schema": {"type": "string"}}}
DEFAULT_STATS_DAYS = 30
MAX_STATS_DAYS = 366


@router.get("", response_model=Page[CasePublic])
async def list_cases(
    principal: Reader,
    session: SessionDep,
    filters: CaseFiltersDep,
    now: Now,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[CasePublic]:
    """The caller's cases (org and units) in creation order, filtered; SLA filters are as of now."""
    items, next_cursor = await cases.list_cases(
        session=session, principal=principal, filters=filters, now=now, limit=limit, cursor=cursor
    )
    return Page(items=[cases.to_public(c, now) for c in items], next_cursor=next_cursor)


@router.get("/stats", response_model=CaseStats)
async def case_stats(
    principal: Reader,
    session: SessionDep,
    now: Now,
    start: Annotated[Instant | None, Query(alias="from", description="Opened at or after; default 30 days ago")] = None,
    end: Annotated[Instant | None, Query(alias="to", description="Opened before; default now")] = None,
    by: Annotated[GroupBy | None, Query(description="Also per owner, team or unit")] = None,
    unit: Annotated[UnitPath | None, Query(description="Only cases of this unit and its subtree")] = None,
) -> CaseStats:
    """Time to first contact (median, p90), shares within SLA, saved rate and outcomes of cases opened in range."""
    end = end or now
    start = start or end - dt.timedelta(days=DEFAULT_STATS_DAYS)
    if start >= end:
        raise invalid("to", "must be after `from`", "empty_range")
    if end - start > dt.timedelta(days=MAX_STATS_DAYS):
        raise invalid("from", f"the range is at most {MAX_STATS_DAYS} days", "range_too_long")
    return await stats.case_stats(session=session, principal=principal, start=start, end=end, by=by, now=now, unit=unit)


@router.get("/{case_id}", response_model=CaseDetail, responses={200: {"headers": ETAG}, **problem_responses(404)})
async def get_case(case_id: str, principal: Reader, session: SessionDep, now: Now, response: Response) -> CaseDetail:
    """One case with its timeline; the `ETag` header is what a change sends as `If-Match`."""
    case = await cases.get_case(session=session, principal=principal, case_id=case_id)
    response.headers["ETag"] = cases.etag(case)
    return await cases.case_detail(session, case, now)


@router.patch(
    "/{case_id}",
    response_model=CasePublic,
    responses={200: {"headers": ETAG}, **problem_responses(404, 409, 412, 428)},
)
async def update_case(
    case_id: str,
    data: CaseUpdate,
    principal: Writer,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> CasePublic:
    """Change status, priority, owner, team, root causes, resolution or outcome (`If-Match` required).

    Statuses: open → in_progress → waiting_on_customer ⇄ in_progress → resolved → closed; resolved and
    closed reopen to in_progress. Closing needs root causes, a resolution and an outcome. Setting a team
    without an owner hands the case to the team's next member.
    """
    case = await lifecycle.update_case(
        session=session, principal=principal, case_id=case_id, data=data, if_match=if_match, now=now
    )
    response.headers["ETag"] = cases.etag(case)
    return cases.to_public(case, now)


@router.post(
    "/{case_id}/activities",
    status_code=201,
    response_model=TimelineEntry,
    responses={201: {"headers": ETAG}, **problem_responses(404)},
)
async def add_activity(
    case_id: str, data: ActivityCreate, principal: Writer, session: SessionDep, now: Now, response: Response
) -> TimelineEntry:
    """Record a call, email, meeting or note; the first that reached the customer sets `first_contact_at`."""
    case, entry = await lifecycle.add_activity(
        session=session, principal=principal, case_id=case_id, data=data, now=now
    )
    response.headers["ETag"] = cases.etag(case)
    return TimelineEntry.model_validate(entry)
