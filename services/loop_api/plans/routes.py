"""`/v1/action-plans`: the outer loop — plans with owners, tasks and due days, and their measured impact."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.clock import Now
from services.loop_api.models import ActionPlan
from services.loop_api.plans import changes, impact
from services.loop_api.plans import service as plans
from services.loop_api.plans.schemas import (
    PlanCreate,
    PlanDetail,
    PlanImpact,
    PlanPublic,
    PlanStatus,
    PlanTimelineEntry,
    PlanUpdate,
    TaskCreate,
    TaskPublic,
    TaskUpdate,
)
from services.loop_api.root_causes.schemas import RootCauseCode
from services.loop_api.root_causes.service import with_sub_codes
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.schemas.common import UNIT_PATH_PATTERN, UnitPath

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1/action-plans",
    tags=["action-plans"],
    responses=problem_responses(401, 403, 422),
)
Reader = Annotated[Principal, Depends(require_scopes("plans:read"))]
Writer = Annotated[Principal, Depends(require_scopes("plans:write"))]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The plan's ETag, from its last read")]
CONTROL_PATTERN = rf"^rest$|{UNIT_PATH_PATTERN}"
ETAG = {"ETag": {"description": "The plan's version, for If-Match", "schema": {"type": "string"}}}


async def _public(session: AsyncSession, principal: Principal, plan: ActionPlan, now: dt.datetime) -> PlanPublic:
    today = await plans.org_today(session, plan.org, now)
    return plans.to_public(plan, (await plans.tasks_of(session, [plan.id]))[plan.id], today, principal)


@router.post("", status_code=201, response_model=PlanPublic, responses={201: {"headers": ETAG}})
async def create_plan(
    data: PlanCreate, principal: Writer, session: IdempotentSession, now: Now, response: Response
) -> PlanPublic:
    """Create a `proposed` plan with its tasks; its scope must lie inside the caller's units (403 otherwise)."""
    plan = await plans.create_plan(session=session, principal=principal, data=data, now=now)
    response.headers["ETag"] = plans.etag(plan)
    return await _public(session, principal, plan, now)


@router.get("", response_model=Page[PlanPublic])
async def list_plans(
    principal: Reader,
    session: SessionDep,
    now: Now,
    status: PlanStatus | None = None,
    owner: Annotated[str | None, Query(max_length=255, description="Plans owned by this user id")] = None,
    unit: Annotated[UnitPath | None, Query(description="Plans whose scope covers part of this unit's subtree")] = None,
    root_cause: Annotated[RootCauseCode | None, Query(description="Plans attacking this code or a sub-code")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[PlanPublic]:
    """The plans the caller may see (restricted callers: those inside their units), in creation order."""
    codes = await with_sub_codes(session, org=principal.org, codes=(root_cause,)) if root_cause else None
    items, next_cursor = await plans.list_plans(
        session=session,
        principal=principal,
        status=status,
        owner=owner,
        unit=unit,
        root_causes=codes,
        limit=limit,
        cursor=cursor,
    )
    tasks = await plans.tasks_of(session, [p.id for p in items])
    today = await plans.org_today(session, principal.org, now)
    return Page(items=[plans.to_public(p, tasks[p.id], today, principal) for p in items], next_cursor=next_cursor)


@router.get("/{plan_id}", response_model=PlanDetail, responses={200: {"headers": ETAG}, **problem_responses(404)})
async def get_plan(plan_id: str, principal: Reader, session: SessionDep, now: Now, response: Response) -> PlanDetail:
    """One plan with its tasks and timeline; the `ETag` header is what a change sends as `If-Match`."""
    plan = await plans.get_plan(session=session, principal=principal, plan_id=plan_id)
    response.headers["ETag"] = plans.etag(plan)
    timeline = [PlanTimelineEntry.model_validate(e) for e in await plans.plan_timeline(session, plan)]
    return PlanDetail(**(await _public(session, principal, plan, now)).model_dump(), timeline=timeline)


@router.get("/{plan_id}/impact", response_model=PlanImpact, responses=problem_responses(404))
async def plan_impact(
    plan_id: str,
    principal: Reader,
    session: SessionDep,
    now: Now,
    request: Request,
    window_days: Annotated[int, Query(ge=7, le=365, description="Days in each window, before and after")] = 90,
    control: Annotated[
        str,
        Query(
            pattern=CONTROL_PATTERN,
            description="`rest` (the org, or your units, minus the scope) or a unit path outside the scope",
        ),
    ] = "rest",
) -> PlanImpact:
    """The plan's effect: (after - before) of its metric in scope minus the same in a control (DESIGN §4).

    95 % interval and two-sided p-value from the four windows' standard errors; `significant` only at p < 0.05
    with every window at or above the org's minimum sample. Without metrics_api's answer, `degraded: ["metrics"]`
    and null figures.
    """
    return await impact.plan_impact(
        session=session,
        principal=principal,
        metrics=request.app.state.metrics,
        plan_id=plan_id,
        window_days=window_days,
        control=control,
        now=now,
    )


@router.patch(
    "/{plan_id}", response_model=PlanPublic, responses={200: {"headers": ETAG}, **problem_responses(404, 409, 412, 428)}
)
async def update_plan(
    plan_id: str,
    data: PlanUpdate,
    principal: Writer,
    session: SessionDep,
    now: Now,
    response: Response,
    if_match: IfMatch = None,
) -> PlanPublic:
    """Change a plan (`If-Match` required). Statuses: proposed → active → done; proposed or active → dropped."""
    plan = await changes.update_plan(
        session=session, principal=principal, plan_id=plan_id, data=data, if_match=if_match, now=now
    )
    response.headers["ETag"] = plans.etag(plan)
    return await _public(session, principal, plan, now)


@router.post(
    "/{plan_id}/tasks",
    status_code=201,
    response_model=TaskPublic,
    responses={201: {"headers": ETAG}, **problem_responses(404, 409)},
)
async def add_task(
    plan_id: str, data: TaskCreate, principal: Writer, session: IdempotentSession, now: Now, response: Response
) -> TaskPublic:
    """Add a task to a proposed or active plan (the plan's ETag changes)."""
    plan, task = await changes.add_task(session=session, principal=principal, plan_id=plan_id, data=data, now=now)
    response.headers["ETag"] = plans.etag(plan)
    return plans.task_public(task, await plans.org_today(session, principal.org, now))


@router.patch(
    "/{plan_id}/tasks/{task_id}",
    response_model=TaskPublic,
    responses={200: {"headers": ETAG}, **problem_responses(404, 409)},
)
async def update_task(
    plan_id: str, task_id: str, data: TaskUpdate, principal: Writer, session: SessionDep, now: Now, response: Response
) -> TaskPublic:
    """Change a task's title, owner, due day or status; a later due day may be announced overdue again."""
    plan, task = await changes.update_task(
        session=session, principal=principal, plan_id=plan_id, task_id=task_id, data=data, now=now
    )
    response.headers["ETag"] = plans.etag(plan)
    return plans.task_public(task, await plans.org_today(session, principal.org, now))
