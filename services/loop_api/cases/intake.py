"""What loop_api does with survey_api's events: open a case, record a recovery, forget an erased contact.

Exactly once per response: the shared inbox drops a repeated event id, and the case row is inserted with
`ON CONFLICT (org, response_id) DO NOTHING`, so two different events of one response (completed, then
updated) or two deliveries at the same moment open one case. Round robin runs only for the inserted row.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.followup import SYSTEM, record_recovery
from services.loop_api.cases.news import announce
from services.loop_api.cases.schemas import CaseSnapshot
from services.loop_api.cases.service import record, touch
from services.loop_api.cases.sla import due_times
from services.loop_api.models import Case, CaseEvent, OrgSettingsRow
from services.loop_api.notifications import writing as notifications
from services.loop_api.org_settings import LoopOrgSettings
from services.loop_api.rules.matching import Match, choose_rule, deepest, first_nps
from services.loop_api.rules.schemas import Route, RulePublic
from services.loop_api.rules.service import rules_in_force
from services.loop_api.teams.service import next_member
from shared.db import insert_ignoring_conflicts
from shared.events import CASE_OPENED_EVENT, ContactErasedData, ResponseData
from shared.ids import new_id
from shared.org_settings import load_org_settings

logger = logging.getLogger("cxloop.loop.intake")
ERASED = "[erased]"  # what stands in for agent-written free text once the case's contact is erased


@dataclass(frozen=True)
class OrgContext:
    """What opening a case needs of its org: the rules in force and the settings (read once per batch)."""

    rules: list[RulePublic]
    settings: LoopOrgSettings


async def _org_context(session: AsyncSession, org: str, cache: dict[str, OrgContext]) -> OrgContext:
    if org not in cache:
        settings = await load_org_settings(session, table=OrgSettingsRow, model=LoopOrgSettings, org=org)
        cache[org] = OrgContext(await rules_in_force(session, org), settings)
    return cache[org]


def _new_case(org: str, response: ResponseData, match: Match, context: OrgContext, now: dt.datetime) -> Case:
    """The case row for a response the rule matched (not yet assigned to a team member)."""
    times = due_times(now, match.rule.sla, context.settings)
    route: Route | None = deepest(response.unit, ((r.unit, r) for r in match.rule.assignment.routes))
    snapshot = CaseSnapshot.model_validate(response.model_dump()).model_dump(mode="json")
    return Case(
        id=new_id("case"),
        org=org,
        priority=match.priority,
        owner=route.owner if route is not None else None,
        team_id=route.team if route is not None else None,
        unit=response.unit,
        response_id=response.response_id,
        contact_id=response.contact_id,
        survey_id=response.survey_id,
        touchpoint_id=response.touchpoint_id,
        rule_id=match.rule.id,
        snapshot=snapshot,
        nps_before=first_nps(response),
        sla_first_contact_hours=times.first_contact_hours,
        sla_resolution_hours=times.resolution_hours,
        due_first_contact_at=times.due_first_contact_at,
        due_resolution_at=times.due_resolution_at,
        at_risk_first_contact_at=times.at_risk_first_contact_at,
        at_risk_resolution_at=times.at_risk_resolution_at,
        created_at=now,
        updated_at=now,
    )


async def _insert_once(session: AsyncSession, case: Case) -> Case | None:
    """Insert the case unless its response already has one; the stored case, or None for a duplicate."""
    table: Any = Case.__table__  # type: ignore[attr-defined]
    values = {column.name: getattr(case, column.name) for column in table.columns}
    statement = insert_ignoring_conflicts(session, table, conflict_columns=["org", "response_id"])
    # A concurrent insert of the same response blocks here until it commits, then inserts nothing.
    inserted = (await session.exec(statement.values(values).returning(table.c.id))).first()
    return await session.get(Case, case.id) if inserted is not None else None


async def open_case(
    session: AsyncSession, org: str, response: ResponseData, context: OrgContext, now: dt.datetime
) -> Case | None:
    """Open the case the rules call for (none when no rule matches or the response already has one)."""
    match = choose_rule(context.rules, response)
    if match is None:
        return None
    case = await _insert_once(session, _new_case(org, response, match, context, now))
    if case is None:
        return None
    if case.team_id is not None and case.owner is None:
        case.owner = await next_member(session, case.team_id)
        session.add(case)
    opened = {"rule_id": match.rule.id, "rule_name": match.rule.name, "priority": case.priority}
    assigned = {"owner": case.owner, "team": case.team_id, "unit": case.unit}
    record(session, case, kind="opened", actor=SYSTEM, at=now, data={**opened, **assigned})
    announce(session, case, CASE_OPENED_EVENT)
    await notifications.case_assigned(session, case, actor=SYSTEM, now=now, opened=True)
    return case


def _anonymised(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot without personal data: scores and choice codes stay, free text and attributes go."""
    kept = {q["key"] for q in snapshot.get("questions", []) if q.get("kind") != "text"}
    answers = {k: v for k, v in snapshot.get("answers", {}).items() if k in kept}
    return {**snapshot, "answers": answers, "attributes": {}, "contact_id": None}


async def erase_contact(session: AsyncSession, org: str, data: ContactErasedData, now: dt.datetime) -> int:
    """Remove an erased contact's personal data from its cases (the link, attributes, free text); how many."""
    statement = select(Case).where(Case.org == org, Case.contact_id == data.contact_id).with_for_update()
    cases = (await session.exec(statement.order_by(col(Case.id)))).all()
    for case in cases:
        case.snapshot, case.contact_id = _anonymised(case.snapshot), None
        case.resolution = ERASED if case.resolution else None
        touch(case, now)
        record(session, case, kind="contact_erased", actor=SYSTEM, at=now, data={})
        session.add(case)
    await _redact_timeline(session, [case.id for case in cases])
    return len(cases)


async def _redact_timeline(session: AsyncSession, case_ids: list[str]) -> None:
    """Replace the agent-written free text in these cases' timelines (activities, resolutions): it may name
    the contact ("Called Paula Eins on +49…"); kinds, times and actors stay."""
    if not case_ids:
        return
    kinds = ["activity", "resolution_changed"]
    statement = select(CaseEvent).where(col(CaseEvent.case_id).in_(case_ids), col(CaseEvent.kind).in_(kinds))
    for entry in (await session.exec(statement)).all():
        text_keys = ("text",) if entry.kind == "activity" else ("from", "to")
        entry.data = {k: ERASED if k in text_keys and v else v for k, v in entry.data.items()}
        session.add(entry)


async def take_response(
    session: AsyncSession,
    *,
    org: str,
    response: ResponseData,
    max_age: dt.timedelta,
    cache: dict[str, OrgContext],
    now: dt.datetime,
) -> None:
    """A finished response: record it as a recovery, and open a case unless it is older than `max_age`.

    Its age runs from `submitted_at` (when the respondent answered, which a partner may backdate), never from
    when it arrived: loading a history opens cases only for the answers still recent enough to act on.
    """
    if not response.finished:
        return
    await record_recovery(session, org, response, now)
    if now - response.submitted_at > max_age:
        logger.info("response %s is too old to open a case (%s)", response.response_id, response.submitted_at)
        return
    await open_case(session, org, response, await _org_context(session, org, cache), now)
