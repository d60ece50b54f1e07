"""The SLA sweeper: escalate every breach exactly once, safely with several replicas.

A breach is a clock (first contact, resolution) still running past its due time. Claiming it is one
`UPDATE … SET <kind>_escalated_at = now WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) AND
<kind>_escalated_at IS NULL RETURNING id`: two sweepers never hold the same row, and the repeated
`IS NULL` makes the claim conditional on SQLite (one writer) too. The escalation itself (priority one
step up, the unit's escalation owner, a timeline entry, a `case.breached` event, the email to whoever has the
case now) commits with the claim. At-risk warnings (a running clock has used 80 % of its time and is not yet
due) are claimed the same way through `<kind>_warned_at`, and tell the owner once per clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from fastapi import FastAPI
from sqlalchemy import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.service import record, touch
from services.loop_api.cases.sla import resolution_now
from services.loop_api.models import Case, OutboxEvent
from services.loop_api.notifications import writing as notifications
from services.loop_api.plans.overdue import sweep_overdue_tasks
from services.loop_api.rules.schemas import PRIORITIES, priority_rank
from services.loop_api.teams.schemas import Escalations
from services.loop_api.teams.service import escalation_owner, load_escalations
from shared.background import pause
from shared.db import Database, claim_statement, utcnow
from shared.events import CASE_BREACHED_EVENT, CaseBreachedData
from shared.outbox import add_event

logger = logging.getLogger("cxloop.loop.sweeper")
BATCH_SIZE = 100
SWEEPER = "system:sweeper"
BREACHES = ("first_contact", "resolution")


def _breached(kind: str, now: dt.datetime) -> list[ColumnElement[bool]]:
    """SQL: the cases whose `kind` clock runs past its due time and has not been escalated."""
    if kind == "first_contact":
        return [
            col(Case.first_contact_escalated_at).is_(None),
            col(Case.first_contact_at).is_(None),
            col(Case.resolved_at).is_(None),
            col(Case.due_first_contact_at) < now,
        ]
    return [
        col(Case.resolution_escalated_at).is_(None),
        col(Case.resolved_at).is_(None),
        col(Case.due_resolution_at) < resolution_now(now),  # a paused clock breaches only if it was late
    ]


def _at_risk(kind: str, now: dt.datetime) -> list[ColumnElement[bool]]:
    """SQL: the cases whose `kind` clock runs, has used 80 % of its time, is not due yet and was not warned of."""
    if kind == "first_contact":
        return [
            col(Case.first_contact_warned_at).is_(None),
            col(Case.first_contact_at).is_(None),
            col(Case.resolved_at).is_(None),
            col(Case.at_risk_first_contact_at) <= now,
            col(Case.due_first_contact_at) >= now,
        ]
    return [
        col(Case.resolution_warned_at).is_(None),
        col(Case.resolved_at).is_(None),
        col(Case.sla_paused_at).is_(None),
        col(Case.at_risk_resolution_at) <= now,
        col(Case.due_resolution_at) >= now,
    ]


async def _claim(
    session: AsyncSession, kind: str, now: dt.datetime, postgres: bool, *, warning: bool = False
) -> list[Case]:
    """Mark up to one batch of `kind` breaches (or at-risk warnings) as handled by this transaction; by id."""
    marker = f"{kind}_warned_at" if warning else f"{kind}_escalated_at"
    claim = claim_statement(
        Case,
        where=_at_risk(kind, now) if warning else _breached(kind, now),
        values={marker: now},
        limit=BATCH_SIZE,
        order_by=[col(Case.id)],
        skip_locked=postgres,
        recheck=True,
    )
    return sorted((await session.exec(claim)).scalars().all(), key=lambda case: case.id)


def raised(priority: str) -> str:
    """One priority step up (`urgent` stays `urgent`)."""
    return PRIORITIES[min(priority_rank(priority) + 1, len(PRIORITIES) - 1)]


def _escalate(session: AsyncSession, case: Case, kind: str, escalations: Escalations, now: dt.datetime) -> None:
    """Raise the priority, hand the case to its unit's escalation owner, and say so (timeline, outbox)."""
    before = {"priority": case.priority, "owner": case.owner}
    case.priority = raised(case.priority)
    case.owner = escalation_owner(escalations, case.unit) or case.owner
    due = case.due_first_contact_at if kind == "first_contact" else case.due_resolution_at
    after = {"priority": case.priority, "owner": case.owner}
    touch(case, now)
    session.add(case)
    record(session, case, kind="breached", actor=SWEEPER, at=now, data={"breach": kind, "from": before, "to": after})
    data = CaseBreachedData(
        case_id=case.id,
        breach=kind,
        due_at=due,
        unit=case.unit,
        team=case.team_id,
        response_id=case.response_id,
        survey_id=case.survey_id,
        priority=case.priority,
        owner=case.owner,
    )
    add_event(session, OutboxEvent, CASE_BREACHED_EVENT.envelope(org=case.org, data=data))


async def _sweep_batch(db: Database, kind: str, now: dt.datetime) -> int:
    async with db.sessions() as session, session.begin():
        cases = await _claim(session, kind, now, db.is_postgres)
        escalations: dict[str, Escalations] = {}
        for case in cases:
            if case.org not in escalations:
                escalations[case.org] = await load_escalations(session, case.org)
            previous_owner = case.owner
            _escalate(session, case, kind, escalations[case.org], now)
            await notifications.case_breached(session, case, breach=kind, previous_owner=previous_owner, now=now)
        return len(cases)


async def _warn_batch(db: Database, kind: str, now: dt.datetime) -> int:
    async with db.sessions() as session, session.begin():
        cases = await _claim(session, kind, now, db.is_postgres, warning=True)
        for case in cases:
            await notifications.case_at_risk(session, case, clock=kind, now=now)
        return len(cases)


async def sweep(db: Database, now: dt.datetime) -> int:
    """Escalate every breach and announce every overdue plan task not handled yet, as of `now`; how many."""
    total = 0
    for kind in BREACHES:
        while count := await _sweep_batch(db, kind, now):
            total += count
        while await _warn_batch(db, kind, now):  # at-risk warnings are not escalations: not counted
            pass
    return total + await sweep_overdue_tasks(db, now)  # and the action plans' overdue tasks, each once


async def sweep_loop(app: FastAPI, stop: asyncio.Event) -> None:
    """Sweep every `sweep_interval_seconds` until `stop` is set; errors are logged, never fatal."""
    interval: float = app.state.settings.sweep_interval_seconds
    while not stop.is_set():
        try:
            escalated = await sweep(app.state.db, app.state.clock.now())
            if escalated:
                logger.info("escalated %d SLA breaches and overdue plan tasks", escalated)
        except Exception:
            logger.exception("SLA sweep failed; retrying")
        await pause(stop, seconds=interval)


async def sweep_once(database_url: str, now: dt.datetime | None = None) -> int:
    """One sweep against a database URL (for `cxloop loop sweep` and cron); how many escalations."""
    db = Database(database_url, pool_size=1)
    try:
        return await sweep(db, now or utcnow())
    finally:
        await db.dispose()
