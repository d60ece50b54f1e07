"""Reading and creating action plans: who sees which plan, its ETag, its API view, its timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, String, cast, exists, false, not_, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.lifecycle import check_root_causes
from services.loop_api.models import ActionPlan, ActionPlanUnit, OrgSettingsRow, OutboxEvent, PlanEvent, PlanTask
from services.loop_api.org_settings import LoopOrgSettings
from services.loop_api.plans.schemas import (
    PlanCreate,
    PlanPublic,
    PlanScope,
    PlanSummary,
    TaskCreate,
    TaskPublic,
)
from shared.auth import Principal
from shared.db import in_subtrees
from shared.errors import Forbidden, NotFound, PreconditionFailed, PreconditionRequired
from shared.events import PLAN_CREATED_EVENT, PlanData
from shared.ids import new_id
from shared.org_settings import load_org_settings
from shared.outbox import add_event
from shared.pagination import keyset, page_of

S = TypeVar("S", bound=Select[Any])
OPEN_STATUSES = ("proposed", "active")  # plans whose tasks can still be overdue


def etag(plan: ActionPlan) -> str:
    """The plan's entity tag: its version counter, quoted."""
    return f'"{plan.version}"'


def check_if_match(plan: ActionPlan, if_match: str | None) -> None:
    """428 without `If-Match`, 412 when it names no current version of the plan (`*` matches any)."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(f"Send If-Match: {etag(plan)} (the plan's ETag) to change it")
    tags = {t.strip() for t in if_match.split(",")}
    if "*" not in tags and etag(plan) not in tags:
        raise PreconditionFailed(f"The plan has changed; its current ETag is {etag(plan)}: read it again")


async def claim(session: AsyncSession, plan: ActionPlan, *, expected: int | None = None) -> None:
    """Take the plan's row for this transaction (as cases do), then reload it; 412 if no longer at `expected`."""
    statement = update(ActionPlan).where(col(ActionPlan.id) == plan.id)
    if expected is not None:
        statement = statement.where(col(ActionPlan.version) == expected)
    result = await session.exec(statement.values(version=col(ActionPlan.version)))
    if result.rowcount != 1:
        raise PreconditionFailed("The plan has changed since it was read: read it again for its new ETag")
    await session.refresh(plan)


def touch(plan: ActionPlan, now: dt.datetime) -> None:
    """Mark a change: a new version (ETag) and `updated_at`."""
    plan.version += 1
    plan.updated_at = now


def record(session: AsyncSession, plan: ActionPlan, *, kind: str, actor: str, at: dt.datetime, **data: Any) -> None:
    """Append one entry to the plan's timeline."""
    session.add(PlanEvent(id=new_id("pev"), org=plan.org, plan_id=plan.id, kind=kind, actor=actor, at=at, data=data))


def check_scope(principal: Principal, scope: PlanScope) -> None:
    """403 unless every unit of the scope lies inside the caller's units (a restricted caller needs units)."""
    if principal.units is None:
        return
    outside = [u for u in scope.units if not principal.sees_unit(u)]
    if not scope.units or outside:
        named = ", ".join(outside) if outside else "the whole org"
        raise Forbidden(f"The plan's scope must lie inside your units; outside them: {named}")


def visible(statement: S, principal: Principal) -> S:
    """Restrict `statement` over plans to the caller's org and, for a restricted caller, to plans inside its units."""
    statement = statement.where(col(ActionPlan.org) == principal.org)
    if principal.units is None:
        return statement
    units = select(ActionPlanUnit.plan_id).where(col(ActionPlanUnit.plan_id) == col(ActionPlan.id))
    outside = units.where(not_(in_subtrees(col(ActionPlanUnit.unit), principal.units)))
    return statement.where(exists(units), not_(exists(outside)))


def touching(unit: str) -> ColumnElement[bool]:
    """SQL: the plan's scope covers part of `unit`'s subtree (a unit inside it, or one of its ancestors)."""
    parts = unit.split("/")
    ancestors = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    inside = or_(in_subtrees(col(ActionPlanUnit.unit), [unit]), col(ActionPlanUnit.unit).in_(ancestors))
    rows = select(ActionPlanUnit.plan_id).where(col(ActionPlanUnit.plan_id) == col(ActionPlan.id), inside)
    return or_(
        exists(rows), not_(exists(select(ActionPlanUnit.plan_id).where(ActionPlanUnit.plan_id == ActionPlan.id)))
    )


def names_any(column: Any, codes: Sequence[str]) -> ColumnElement[bool]:
    """SQL: the JSON list in `column` names one of `codes` (its text holds the quoted code)."""
    text = cast(column, String)
    return or_(*(text.contains(f'"{code}"', autoescape=True) for code in codes)) if codes else false()


async def org_today(session: AsyncSession, org: str, now: dt.datetime) -> dt.date:
    """Today in the org's time zone (its business hours' zone): a task is overdue once its due day has passed there."""
    settings = await load_org_settings(session, table=OrgSettingsRow, model=LoopOrgSettings, org=org)
    return now.astimezone(ZoneInfo(settings.business_hours.timezone)).date()


def is_overdue(task: PlanTask, today: dt.date) -> bool:
    """Not done and its due day has passed."""
    return task.status != "done" and task.due_on < today


def task_public(task: PlanTask, today: dt.date) -> TaskPublic:
    """The API view of a task as of `today`."""
    fields = {name: getattr(task, name) for name in TaskPublic.model_fields if name != "overdue"}
    return TaskPublic.model_validate({**fields, "overdue": is_overdue(task, today)})


def to_public(plan: ActionPlan, tasks: Sequence[PlanTask], today: dt.date, principal: Principal) -> PlanPublic:
    """The API view of a plan and its tasks (in due order), overdue as of `today` (the org's day).

    The latest effect is measured against the rest of the org, so only a caller who may read the whole org sees
    it (the rest's change could otherwise be worked out from it and the scope's figures)."""
    views = [task_public(t, today) for t in sorted(tasks, key=lambda t: (t.due_on, t.id))]
    scope = PlanScope(units=plan.units, touchpoint_ids=plan.touchpoint_ids, survey_id=plan.survey_id)
    fields = {name: getattr(plan, name) for name in PlanPublic.model_fields if hasattr(plan, name)}
    effect = plan.latest_effect if principal.units is None else None
    overdue = sum(t.overdue for t in views)
    return PlanPublic.model_validate(
        {**fields, "scope": scope, "tasks": views, "overdue_tasks": overdue, "latest_effect": effect}
    )


async def tasks_of(session: AsyncSession, plan_ids: Sequence[str]) -> dict[str, list[PlanTask]]:
    """The tasks of each plan."""
    found: dict[str, list[PlanTask]] = {plan_id: [] for plan_id in plan_ids}
    if plan_ids:
        for task in (await session.exec(select(PlanTask).where(col(PlanTask.plan_id).in_(plan_ids)))).all():
            found[task.plan_id].append(task)
    return found


async def get_plan(*, session: AsyncSession, principal: Principal, plan_id: str) -> ActionPlan:
    """One plan the caller may see; 404 otherwise (another org's id included)."""
    statement = visible(select(ActionPlan).where(col(ActionPlan.id) == plan_id), principal)
    plan = (await session.exec(statement)).first()
    if plan is None:
        raise NotFound(f"No action plan {plan_id!r}")
    return plan


def set_units(session: AsyncSession, plan: ActionPlan, units: Sequence[str]) -> None:
    """Write the scope's unit rows of a new plan (the caller deletes the old ones first on a change)."""
    for unit in units:
        session.add(ActionPlanUnit(plan_id=plan.id, unit=unit, org=plan.org))


def new_task(plan: ActionPlan, data: TaskCreate, now: dt.datetime) -> PlanTask:
    """A task row of `plan`."""
    done_at = now if data.status == "done" else None
    return PlanTask(
        id=new_id("task"),
        org=plan.org,
        plan_id=plan.id,
        **data.model_dump(),
        done_at=done_at,
        created_at=now,
        updated_at=now,
    )


def plan_data(plan: ActionPlan) -> PlanData:
    """The payload of the plan's events."""
    fields = {name: getattr(plan, name) for name in PlanData.model_fields if hasattr(plan, name)}
    return PlanData.model_validate({**fields, "plan_id": plan.id})


async def create_plan(*, session: AsyncSession, principal: Principal, data: PlanCreate, now: dt.datetime) -> ActionPlan:
    """A new `proposed` plan with its tasks, on its timeline and announced (`plan.created`)."""
    check_scope(principal, data.scope)
    await check_root_causes(session, principal.org, data.root_causes)
    plan = ActionPlan(
        id=new_id("plan"),
        org=principal.org,
        **data.model_dump(exclude={"scope", "tasks"}),
        **data.scope.model_dump(),
        created_by=principal.sub,
        created_at=now,
        updated_at=now,
    )
    session.add(plan)
    await session.flush()
    set_units(session, plan, data.scope.units)
    for task in data.tasks:
        session.add(new_task(plan, task, now))
    record(session, plan, kind="created", actor=principal.sub, at=now, status=plan.status, tasks=len(data.tasks))
    add_event(session, OutboxEvent, PLAN_CREATED_EVENT.envelope(org=plan.org, data=plan_data(plan)))
    await session.flush()
    return plan


async def list_plans(
    *,
    session: AsyncSession,
    principal: Principal,
    status: str | None,
    owner: str | None,
    unit: str | None,
    root_causes: Sequence[str] | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[ActionPlan], str | None]:
    """A page of the plans the caller may see, in creation order, filtered."""
    statement = visible(select(ActionPlan), principal)
    if status is not None:
        statement = statement.where(col(ActionPlan.status) == status)
    if owner is not None:
        statement = statement.where(col(ActionPlan.owner) == owner)
    if unit is not None:
        statement = statement.where(touching(unit))
    if root_causes is not None:
        statement = statement.where(names_any(col(ActionPlan.root_causes), root_causes))
    rows = (await session.exec(keyset(statement, col(ActionPlan.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda plan: plan.id)


async def plan_timeline(session: AsyncSession, plan: ActionPlan) -> list[PlanEvent]:
    """The plan's timeline, oldest first (up to 1000 entries)."""
    statement = select(PlanEvent).where(col(PlanEvent.plan_id) == plan.id).order_by(col(PlanEvent.id))
    return list((await session.exec(statement.limit(1000))).all())


ACTIVE_PLANS_SHOWN = 20


async def active_plans(
    *, session: AsyncSession, principal: Principal, unit: str | None, now: dt.datetime
) -> list[PlanSummary]:
    """The active plans the caller may see whose scope covers part of `unit` (all of them without one)."""
    plans, _ = await list_plans(
        session=session,
        principal=principal,
        status="active",
        owner=None,
        unit=unit,
        root_causes=None,
        limit=ACTIVE_PLANS_SHOWN,
        cursor=None,
    )
    tasks = await tasks_of(session, [p.id for p in plans])
    today = await org_today(session, principal.org, now)
    views = [to_public(p, tasks[p.id], today, principal) for p in plans]
    return [PlanSummary.model_validate(view.model_dump()) for view in views]
