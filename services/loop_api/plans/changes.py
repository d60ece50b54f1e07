"""Working a plan: field changes and the status machine under `If-Match`, tasks; each on the timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.lifecycle import check_root_causes
from services.loop_api.models import ActionPlan, ActionPlanUnit, OutboxEvent, PlanTask
from services.loop_api.plans.schemas import PlanScope, PlanUpdate, TaskCreate, TaskUpdate
from services.loop_api.plans.service import (
    check_if_match,
    check_scope,
    claim,
    get_plan,
    new_task,
    plan_data,
    record,
    set_units,
    touch,
)
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.events import PLAN_STATUS_CHANGED_EVENT
from shared.outbox import add_event

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "proposed": ("active", "dropped"),
    "active": ("done", "dropped"),
    "done": (),
    "dropped": (),
}
FIELDS = ("title", "problem", "root_causes", "owner", "metric", "target", "starts_on")


def check_transition(plan: ActionPlan, target: str) -> None:
    """409 naming the allowed next statuses when `target` is not one of them."""
    allowed = TRANSITIONS[plan.status]
    if target not in allowed:
        raise Conflict(f"A {plan.status} plan cannot become {target}; allowed: {', '.join(allowed) or 'none'}")


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


async def _apply_scope(session: AsyncSession, plan: ActionPlan, scope: PlanScope, actor: str, now: dt.datetime) -> bool:
    before = PlanScope(units=plan.units, touchpoint_ids=plan.touchpoint_ids, survey_id=plan.survey_id)
    if before == scope:
        return False
    plan.units, plan.touchpoint_ids, plan.survey_id = scope.units, scope.touchpoint_ids, scope.survey_id
    await session.exec(delete(ActionPlanUnit).where(col(ActionPlanUnit.plan_id) == plan.id))
    set_units(session, plan, scope.units)
    record(
        session,
        plan,
        kind="scope_changed",
        actor=actor,
        at=now,
        **{"from": before.model_dump(), "to": scope.model_dump()},
    )
    return True


def _apply_fields(
    session: AsyncSession, plan: ActionPlan, changes: dict[str, Any], actor: str, now: dt.datetime
) -> bool:
    changed = False
    for name in (n for n in FIELDS if n in changes):
        before = getattr(plan, name)
        if before != changes[name]:
            setattr(plan, name, changes[name])
            data = {"from": _json(before), "to": _json(changes[name])}
            record(session, plan, kind=f"{name}_changed", actor=actor, at=now, **data)
            changed = True
    return changed


def _apply_status(session: AsyncSession, plan: ActionPlan, target: str, actor: str, now: dt.datetime) -> bool:
    if target == plan.status:
        return False
    check_transition(plan, target)
    before, plan.status = plan.status, target
    record(session, plan, kind="status_changed", actor=actor, at=now, **{"from": before, "to": target})
    data = plan_data(plan).model_copy(update={"previous_status": before})
    add_event(session, OutboxEvent, PLAN_STATUS_CHANGED_EVENT.envelope(org=plan.org, data=data))
    return True


async def update_plan(
    *,
    session: AsyncSession,
    principal: Principal,
    plan_id: str,
    data: PlanUpdate,
    if_match: str | None,
    now: dt.datetime,
) -> ActionPlan:
    """Change a plan under `If-Match` (412 stale, 428 missing); an illegal status step is 409."""
    plan = await get_plan(session=session, principal=principal, plan_id=plan_id)
    check_if_match(plan, if_match)
    await claim(session, plan, expected=plan.version)
    changes = data.model_dump(exclude_unset=True, exclude={"scope"})
    if "root_causes" in changes:
        await check_root_causes(session, plan.org, changes["root_causes"])
    changed = _apply_fields(session, plan, changes, principal.sub, now)
    if data.scope is not None:
        check_scope(principal, data.scope)
        changed = await _apply_scope(session, plan, data.scope, principal.sub, now) or changed
    if data.status is not None:
        changed = _apply_status(session, plan, data.status, principal.sub, now) or changed
    if changed:  # an unchanged plan keeps its ETag
        touch(plan, now)
        session.add(plan)
        await session.flush()
    return plan


def _check_open(plan: ActionPlan) -> None:
    if plan.status not in ("proposed", "active"):
        raise Conflict(f"A {plan.status} plan's tasks can no longer change")


async def add_task(
    *, session: AsyncSession, principal: Principal, plan_id: str, data: TaskCreate, now: dt.datetime
) -> tuple[ActionPlan, PlanTask]:
    """Add a task to an open plan (409 for a done or dropped one)."""
    plan = await get_plan(session=session, principal=principal, plan_id=plan_id)
    _check_open(plan)
    await claim(session, plan)
    task = new_task(plan, data, now)
    session.add(task)
    record(session, plan, kind="task_added", actor=principal.sub, at=now, task_id=task.id, title=task.title)
    touch(plan, now)
    session.add(plan)
    await session.flush()
    return plan, task


def _apply_task(task: PlanTask, changes: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    diff = {
        name: {"from": _json(getattr(task, name)), "to": _json(v)}
        for name, v in changes.items()
        if getattr(task, name) != v
    }
    if "due_on" in diff and changes["due_on"] > task.due_on:
        task.overdue_notified_at = None  # a new, later due day: overdue again is news again
    for name in diff:
        setattr(task, name, changes[name])
    if "status" in diff:
        task.done_at = now if task.status == "done" else None
    task.updated_at = now
    return diff


async def update_task(
    *, session: AsyncSession, principal: Principal, plan_id: str, task_id: str, data: TaskUpdate, now: dt.datetime
) -> tuple[ActionPlan, PlanTask]:
    """Change a task's title, owner, due day or status (todo, doing, done)."""
    plan = await get_plan(session=session, principal=principal, plan_id=plan_id)
    _check_open(plan)
    await claim(session, plan)
    task = await session.get(PlanTask, task_id)
    if task is None or task.plan_id != plan.id:
        raise NotFound(f"No task {task_id!r} in plan {plan_id!r}")
    diff = _apply_task(task, data.model_dump(exclude_unset=True), now)
    if diff:
        record(session, plan, kind="task_changed", actor=principal.sub, at=now, task_id=task.id, changes=diff)
        touch(plan, now)
        session.add_all([task, plan])
        await session.flush()
    return plan, task
