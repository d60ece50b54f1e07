"""Notifications written in the transaction of the change they tell of: a case assigned (to you or your team),
a new case in the units you look after, a case of yours at risk, a breach escalated to you.

Only people (`/v1/people`) are told, as they chose: `immediate` mails are `pending` at once, `digest` ones are
`queued` for the daily digest, `off` writes nothing. Nobody is told of their own change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.models import Case, Team
from services.loop_api.notifications.content import headline
from services.loop_api.notifications.models import Notification
from services.loop_api.people.models import Person
from services.loop_api.people.service import people_by_handle, watchers
from shared.ids import new_id

CASE_ASSIGNED = "case_assigned"
CASE_OPENED = "case_opened"
CASE_AT_RISK = "case_at_risk"
CASE_BREACHED = "case_breached"
DIGEST = "digest"
CLOCKS = {"first_contact": "first contact", "resolution": "resolution"}


def _add(
    session: AsyncSession,
    person: Person,
    case: Case,
    *,
    kind: str,
    subject: str,
    data: dict[str, Any],
    now: dt.datetime,
) -> Notification | None:
    """Stage one notification for `person` about `case` (none when they turned notifications off)."""
    if person.notify == "off":
        return None
    immediate = person.notify == "immediate"
    notification = Notification(
        id=new_id("ntf"),
        org=case.org,
        recipient=person.handle,
        email=person.email,
        kind=kind,
        case_id=case.id,
        unit=case.unit,
        subject=subject[:300],
        data=data,
        delivery="immediate" if immediate else "digest",
        status="pending" if immediate else "queued",
        next_attempt_at=now if immediate else None,
        created_at=now,
        updated_at=now,
    )
    session.add(notification)
    return notification


async def case_assigned(session: AsyncSession, case: Case, *, actor: str, now: dt.datetime, opened: bool) -> int:
    """Tell the new owner (or, with a team and no owner, the team's members); a new case also its unit's people."""
    told: set[str] = {actor}
    count, what = 0, headline(case)
    team = await session.get(Team, case.team_id) if case.team_id else None
    if case.owner is not None:
        owners, subject = [case.owner], f"Case assigned to you: {what}"
    else:
        owners = list(team.members) if team is not None else []
        subject = f"Case assigned to your team {team.name if team else ''}: {what}"
    data = {"owner": case.owner, "team": case.team_id, "priority": case.priority, "opened": opened}
    people = await people_by_handle(session, case.org, owners)
    for handle in owners:
        if handle in people and handle not in told:
            told.add(handle)
            added = _add(session, people[handle], case, kind=CASE_ASSIGNED, subject=subject, data=data, now=now)
            count += added is not None
    if opened:
        for person in await watchers(session, case.org, case.unit):
            if person.handle not in told:
                told.add(person.handle)
                subject = f"New case in your units: {what}"
                count += _add(session, person, case, kind=CASE_OPENED, subject=subject, data=data, now=now) is not None
    return count


async def case_at_risk(session: AsyncSession, case: Case, *, clock: str, now: dt.datetime) -> int:
    """Tell the owner that 80 % of a clock's time is used."""
    person = (await people_by_handle(session, case.org, [case.owner or ""])).get(case.owner or "")
    if person is None:
        return 0
    subject = f"Case at risk, {CLOCKS[clock]} due soon: {headline(case)}"
    due = case.due_first_contact_at if clock == "first_contact" else case.due_resolution_at
    data = {"clock": clock, "due_at": due.isoformat(), "priority": case.priority}
    return int(_add(session, person, case, kind=CASE_AT_RISK, subject=subject, data=data, now=now) is not None)


async def case_breached(
    session: AsyncSession, case: Case, *, breach: str, previous_owner: str | None, now: dt.datetime
) -> int:
    """Tell the owner the breached case now has (the unit's escalation owner, or the owner it kept)."""
    person = (await people_by_handle(session, case.org, [case.owner or ""])).get(case.owner or "")
    if person is None:
        return 0
    escalated = case.owner != previous_owner
    subject = f"Case {'escalated to you' if escalated else 'breached'}, {CLOCKS[breach]} overdue: {headline(case)}"
    data = {"breach": breach, "from": previous_owner, "escalated": escalated, "priority": case.priority}
    return int(_add(session, person, case, kind=CASE_BREACHED, subject=subject, data=data, now=now) is not None)
