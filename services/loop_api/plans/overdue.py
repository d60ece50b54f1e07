"""Overdue tasks: each announced once (`plan.task_overdue`) by the sweeper, safely with several replicas.

A task is overdue when it is not done and its due day (UTC) has passed, in a proposed or active plan.
Claiming it is the SLA sweeper's pattern: `UPDATE … SET overdue_notified_at = now WHERE id IN (SELECT …
FOR UPDATE SKIP LOCKED) AND overdue_notified_at IS NULL RETURNING`, so two sweepers never announce the
same task; the event and the timeline entry commit with the claim. A later due day clears the mark.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.models import ActionPlan, OutboxEvent, PlanTask
from services.loop_api.plans.service import OPEN_STATUSES, record
from shared.db import Database, claim_statement
from shared.events import PLAN_TASK_OVERDUE_EVENT, PlanTaskOverdueData
from shared.outbox import add_event

BATCH_SIZE = 100
SWEEPER = "system:sweeper"


async def _claim(session: AsyncSession, now: dt.datetime, postgres: bool) -> list[PlanTask]:
    open_plans = select(ActionPlan.id).where(col(ActionPlan.status).in_(OPEN_STATUSES))
    claim = claim_statement(
        PlanTask,
        where=[
            col(PlanTask.overdue_notified_at).is_(None),
            col(PlanTask.status) != "done",
            col(PlanTask.due_on) < now.date(),
            col(PlanTask.plan_id).in_(open_plans.scalar_subquery()),
        ],
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


async def _sweep_batch(db: Database, now: dt.datetime) -> int:
    async with db.sessions() as session, session.begin():
        tasks = await _claim(session, now, db.is_postgres)
        for task in tasks:
            await _announce(session, task, now)
        return len(tasks)


async def sweep_overdue_tasks(db: Database, now: dt.datetime) -> int:
    """Announce every overdue task not announced yet, as of `now`; how many."""
    total = 0
    while count := await _sweep_batch(db, now):
        total += count
    return total
