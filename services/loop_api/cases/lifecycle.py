"""Working a case: the status machine, field changes under `If-Match`, and activities; each on the timeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.followup import request_followup
from services.loop_api.cases.news import announce
from services.loop_api.cases.schemas import ActivityCreate, CaseUpdate
from services.loop_api.cases.service import check_if_match, claim, get_case, record, touch
from services.loop_api.cases.sla import resume_resolution_clock
from services.loop_api.models import Case, CaseEvent, OrgSettingsRow, RootCause
from services.loop_api.notifications import writing as notifications
from services.loop_api.org_settings import LoopOrgSettings
from services.loop_api.people.service import check_handles
from services.loop_api.teams.service import missing_teams, next_member
from shared.auth import Principal
from shared.errors import Conflict, FieldError, Unprocessable, invalid
from shared.events import CASE_ASSIGNED_EVENT, CASE_CLOSED_EVENT, CASE_STATUS_CHANGED_EVENT
from shared.org_settings import load_org_settings

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("in_progress",),
    "in_progress": ("waiting_on_customer", "resolved"),
    "waiting_on_customer": ("in_progress", "resolved"),
    "resolved": ("closed", "in_progress"),
    "closed": ("in_progress",),
}
DONE = ("resolved", "closed")
WAITING = "waiting_on_customer"  # the resolution clock is paused in this status
CLOSE_NEEDS = ("root_causes", "resolution", "outcome")
# `at` of an activity may be this far ahead of our clock (the caller's clock may run a little fast).
CLOCK_SKEW = dt.timedelta(minutes=5)


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise Unprocessable("; ".join(f"{e.field}: {e.message}" for e in errors)[:1000], errors=errors)


async def check_root_causes(session: AsyncSession, org: str, codes: Iterable[str]) -> None:
    """422 naming the codes that are not active root causes of the org."""
    wanted = set(codes)
    if not wanted:
        return
    statement = select(RootCause.code).where(
        RootCause.org == org, col(RootCause.code).in_(wanted), col(RootCause.active)
    )
    unknown = sorted(wanted - set((await session.exec(statement)).all()))
    if unknown:
        raise invalid("root_causes", f"not active root causes of this org: {', '.join(unknown)}", "unknown_code")


def check_transition(case: Case, target: str) -> None:
    """409 naming the allowed next statuses when `target` is not one of them."""
    allowed = TRANSITIONS[case.status]
    if target not in allowed:
        raise Conflict(f"A {case.status} case cannot become {target}; allowed: {', '.join(allowed)}")


async def _check_close(session: AsyncSession, case: Case) -> None:
    """422 naming each field a case needs before it is closed; its root causes must be active codes."""
    missing = [name for name in CLOSE_NEEDS if not getattr(case, name)]
    _raise([FieldError(field=name, message="is required to close the case", code="required") for name in missing])
    await check_root_causes(session, case.org, case.root_causes)


def _check_closed_keeps(case: Case, changes: dict[str, Any]) -> None:
    """422 naming each field closing required that a change would empty while the case stays closed."""
    if case.status != "closed" or changes.get("status", "closed") != "closed":
        return
    cleared = [name for name in CLOSE_NEEDS if name in changes and not changes[name]]
    message = "a closed case keeps what closing required; reopen it to change this"
    _raise([FieldError(field=name, message=message, code="required") for name in cleared])


def _set(session: AsyncSession, case: Case, name: str, value: Any, actor: str, now: dt.datetime) -> bool:
    attribute = "team_id" if name == "team" else name
    before = getattr(case, attribute)
    if before == value:
        return False
    setattr(case, attribute, value)
    record(session, case, kind=f"{name}_changed", actor=actor, at=now, data={"from": before, "to": value})
    return True


async def _apply_fields(
    session: AsyncSession, case: Case, changes: dict[str, Any], actor: str, now: dt.datetime
) -> bool:
    if changes.get("team") is not None and await missing_teams(session, case.org, [changes["team"]]):
        raise invalid("team", f"no team {changes['team']!r}", "unknown_team")
    if "root_causes" in changes:
        await check_root_causes(session, case.org, changes["root_causes"])
    if changes.get("owner") is not None:
        await check_handles(session, case.org, [changes["owner"]], "owner")
    if changes.get("team") is not None and changes["team"] != case.team_id and "owner" not in changes:
        changes["owner"] = await next_member(session, changes["team"])  # handing to a team: its next member
    names = [n for n in ("priority", "team", "owner", "root_causes", "resolution", "outcome") if n in changes]
    changed = {name for name in names if _set(session, case, name, changes[name], actor, now)}
    if changed & {"owner", "team"}:
        announce(session, case, CASE_ASSIGNED_EVENT)
        await notifications.case_assigned(session, case, actor=actor, now=now, opened=False)
    return bool(changed)


async def _apply_status(session: AsyncSession, case: Case, target: str, actor: str, now: dt.datetime) -> bool:
    if target == case.status:
        return False
    check_transition(case, target)
    if target == "closed":
        await _check_close(session, case)
    before, reopened = case.status, case.status in DONE and target not in DONE
    data: dict[str, Any] = {"from": before, "to": target}
    if target == WAITING:
        case.sla_paused_at = now
    elif before == WAITING:
        settings = await load_org_settings(session, table=OrgSettingsRow, model=LoopOrgSettings, org=case.org)
        data["sla_paused_hours"] = round(resume_resolution_clock(case, now, settings), 4)
    case.status = target
    if target == "resolved":
        case.resolved_at = now
    elif target == "closed":
        case.closed_at = now
    elif reopened:
        case.resolved_at = case.closed_at = None
    kind = "reopened" if reopened else "status_changed"
    record(session, case, kind=kind, actor=actor, at=now, data=data)
    announce(session, case, CASE_STATUS_CHANGED_EVENT, previous_status=before)
    if target == "closed":
        announce(session, case, CASE_CLOSED_EVENT, previous_status=before)
        request_followup(session, case, actor=actor, now=now)
    return True


async def update_case(
    *,
    session: AsyncSession,
    principal: Principal,
    case_id: str,
    data: CaseUpdate,
    if_match: str | None,
    now: dt.datetime,
) -> Case:
    """Change a case under `If-Match` (412 stale, 428 missing); an illegal status step is 409."""
    case = await get_case(session=session, principal=principal, case_id=case_id)
    check_if_match(case, if_match)
    await claim(session, case, expected=case.version)
    changes = data.model_dump(exclude_unset=True)
    _check_closed_keeps(case, changes)
    changed = await _apply_fields(session, case, changes, principal.sub, now)
    if "status" in changes:
        changed = await _apply_status(session, case, changes["status"], principal.sub, now) or changed
    if changed:  # an unchanged case keeps its ETag
        touch(case, now)
        session.add(case)
        await session.flush()
    return case


def _check_activity(case: Case, data: ActivityCreate, at: dt.datetime, now: dt.datetime) -> None:
    errors = []
    if at > now + CLOCK_SKEW:
        errors.append(FieldError(field="at", message="is in the future", code="future"))
    if at < case.created_at:
        errors.append(FieldError(field="at", message="is before the case opened", code="before_case"))
    if data.kind == "note" and data.reached_customer:
        errors.append(FieldError(field="reached_customer", message="a note does not reach anyone", code="note"))
    _raise(errors)


async def add_activity(
    *, session: AsyncSession, principal: Principal, case_id: str, data: ActivityCreate, now: dt.datetime
) -> tuple[Case, CaseEvent]:
    """Record a call, email, meeting or note; the first one that reached the customer is the first contact."""
    case = await get_case(session=session, principal=principal, case_id=case_id)
    at = (data.at or now).astimezone(dt.UTC)
    _check_activity(case, data, at, now)
    await claim(session, case)
    body = data.model_dump(mode="json", exclude={"at"})
    first = data.reached_customer and case.first_contact_at is None
    entry = record(session, case, kind="activity", actor=principal.sub, at=at, data={**body, "first_contact": first})
    if first:
        case.first_contact_at = at
    touch(case, now)
    session.add(case)
    await session.flush()
    return case, entry
