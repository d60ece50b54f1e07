"""Overdue tasks: each announced once (`plan.task_overdue`) by the sweeper, safely with several replicas.

A task is overdue when it is not done and its due day has passed in the org's time zone (its business hours'),
in a proposed or active plan. The sweep goes org by org: the orgs with a candidate (due before tomorrow in UTC,
the latest any zone can be) each get their own "today".
Claiming it is the SLA sweeper's pattern: `UPDATE … SET overdue_notified_at = now WHERE id IN (SELECT …
FOR UPDATE SKIP LOCKED) AND overdue_notified_at IS NULL RETURNING`, so two sweepers never announce the
same task; the event and the timeline entry commit with the claim. A later due day clears the mark.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.models import ActionPlan, OutboxEvent, PlanTask
from services.loop_api.plans.service import OPEN_STATUSES, org_today, record
from shared.db import Database, claim_statement
from shared.events import PLAN_TASK_OVERDUE_EVENT, PlanTaskOverdueData
from shared.outbox import add_event

BATCH_SIZE = 100
SWEEPER = "system:sweeper"


def _unannounced(before: dt.date) -> list[ColumnElement[bool]]:
    """SQL: tasks not done, not announced, due before `before`, in an open plan."""
    open_plans = select(ActionPlan.id).where(col(ActionPlan.status).in_(OPEN_STATUSES))
    return [
        col(PlanTask.overdue_notified_at).is_(None),
        col(PlanTask.status) != "done",
        col(PlanTask.due_on) < before,
        col(PlanTask.plan_id).in_(open_plans.scalar_subquery()),
    ]


async def _orgs_with_candidates(db: Database, now: dt.datetime) -> list[str]:
    tomorrow = now.date() + dt.timedelta(days=1)  # no zone is more than a day ahead of UTC
    async with db.sessions() as session:
        statement = select(PlanTask.org).where(*_unannounced(tomorrow)).distinct()
        return sorted((await session.exec(statement)).all())


async def _claim(session: AsyncSession, org: str, now: dt.datetime, postgres: bool) -> list[PlanTask]:
    today = await org_today(session, org, now)
    claim = claim_statement(
        PlanTask,
        where=[col(PlanTask.org) == org, *_unannounced(today)],
        values={"overdue_notified_at": now},
        limit=BATCH_SIZE,
        order_by=[col(PlanTask.id)],
        skip_locked=postgres,
        recheck=True,
    )
    return sorted((await session.exec(claim)).scalars().all(), key=lambda task: task.id)


async def _announce(session: AsyncSession, task: PlanTask, now: dt.datetime) -> None:
    plan = await session.get(ActionPlan, task.plan_id)
    assert plan is not None  # a task's plan is never deleted
    data = PlanTaskOverdueData(
        plan_id=plan.id,
        plan_title=plan.title,
        task_id=task.id,
        title=task.title,
        owner=task.owner,
        due_on=task.due_on,
        status=task.status,
        units=plan.units,
    )
    record(session, plan, kind="task_overdue", actor=SWEEPER, at=now, task_id=task.id, due_on=task.due_on.isoformat())
    add_event(session, OutboxEvent, PLAN_TASK_OVERDUE_EVENT.envelope(org=plan.org, data=data))


async def _sweep_batch(db: Database, org: str, now: dt.datetime) -> int:
    async with db.sessions() as session, session.begin():
        tasks = await _claim(session, org, now, db.is_postgres)
        for task in tasks:
            await _announce(session, task, now)
        return len(tasks)


async def sweep_overdue_tasks(db: Database, now: dt.datetime) -> int:
    """Announce every overdue task not announced yet, as of `now` in its org's time zone; how many."""
    total = 0
    for org in await _orgs_with_candidates(db, now):
        while count := await _sweep_batch(db, org, now):
            total += count
    return total
