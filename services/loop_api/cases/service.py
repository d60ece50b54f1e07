"""Reading cases (one, a page, with the timeline), their ETag, and appending to the timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.filters import CaseFilters, filtered
from services.loop_api.cases.schemas import CaseDetail, CasePublic, CaseSnapshot, Followup, Recovery, TimelineEntry
from services.loop_api.cases.sla import is_overdue, sla_state
from services.loop_api.models import Case, CaseEvent
from shared.auth import Principal
from shared.errors import NotFound, PreconditionFailed, PreconditionRequired
from shared.ids import new_id
from shared.pagination import keyset, page_of

# A case's timeline is shown whole up to this many entries (a case with more is flagged as truncated).
TIMELINE_LIMIT = 1000


def etag(case: Case) -> str:
    """The case's entity tag: its version counter, quoted."""
    return f'"{case.version}"'


def check_if_match(case: Case, if_match: str | None) -> None:
    """428 without `If-Match`, 412 when it names no current version of the case (`*` matches any)."""
    if if_match is None or not if_match.strip():
        raise PreconditionRequired(f"Send If-Match: {etag(case)} (the case's ETag) to change it")
    tags = {t.strip() for t in if_match.split(",")}
    if "*" not in tags and etag(case) not in tags:
        raise PreconditionFailed(f"The case has changed; its current ETag is {etag(case)}: read it again")


async def claim(session: AsyncSession, case: Case, *, expected: int | None = None) -> None:
    """Take the case's row for this transaction, then reload it; 412 if it is no longer at `expected`.

    A no-op UPDATE takes the row lock on PostgreSQL and the write lock on SQLite, so a concurrent change
    of the same case waits for this one and then finds the version moved on: no lost update, on either.
    """
    statement = update(Case).where(col(Case.id) == case.id)
    if expected is not None:
        statement = statement.where(col(Case.version) == expected)
    result = await session.exec(statement.values(version=col(Case.version)))
    if result.rowcount != 1:
        raise PreconditionFailed("The case has changed since it was read: read it again for its new ETag")
    await session.refresh(case)


def touch(case: Case, now: dt.datetime) -> None:
    """Mark a change: a new version (ETag) and `updated_at`."""
    case.version += 1
    case.updated_at = now


def record(
    session: AsyncSession, case: Case, *, kind: str, actor: str, at: dt.datetime, data: dict[str, Any]
) -> CaseEvent:
    """Append one entry to the case's timeline (entries are never changed afterwards)."""
    entry = CaseEvent(id=new_id("cev"), org=case.org, case_id=case.id, kind=kind, actor=actor, at=at, data=data)
    session.add(entry)
    return entry


def _recovery(case: Case) -> Recovery | None:
    if case.followup_response_id is None or case.nps_after is None or case.recovery_recorded_at is None:
        return None
    return Recovery(
        response_id=case.followup_response_id,
        score_before=case.nps_before,
        score_after=case.nps_after,
        saved=bool(case.saved),
        recorded_at=case.recovery_recorded_at,
    )


def _followup(case: Case) -> Followup | None:
    if case.followup_requested_at is None:
        return None
    status = case.followup_status or "requested"
    return Followup(invitation_id=case.followup_invitation_id, status=status, sent_at=case.followup_sent_at)


def to_public(case: Case, now: dt.datetime) -> CasePublic:
    """The API view of a case, its SLA state as of `now`."""
    fields = {name: getattr(case, name) for name in CasePublic.model_fields if hasattr(case, name)}
    return CasePublic.model_validate(
        {
            **fields,
            "team": case.team_id,
            "queue": case.unit if case.owner is None and case.team_id is None else None,
            "sla_state": sla_state(case, now),
            "overdue": is_overdue(case, now),
            "recovery": _recovery(case),
            "followup": _followup(case),
            "snapshot": CaseSnapshot.model_validate(case.snapshot),
        }
    )


async def get_case(*, session: AsyncSession, principal: Principal, case_id: str, lock: bool = False) -> Case:
    """One case of the caller's org and units; 404 otherwise (another org's id included)."""
    case = await session.get(Case, case_id, with_for_update=lock or None)
    if case is None or case.org != principal.org or not _sees(principal, case):
        raise NotFound(f"No case {case_id!r}")
    return case


def _sees(principal: Principal, case: Case) -> bool:
    if principal.units is None:
        return True
    return case.unit is not None and principal.sees_unit(case.unit)


async def case_detail(session: AsyncSession, case: Case, now: dt.datetime) -> CaseDetail:
    """The case with its timeline, oldest entry first."""
    statement = select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))
    entries = (await session.exec(statement.limit(TIMELINE_LIMIT + 1))).all()
    return CaseDetail(
        **to_public(case, now).model_dump(),
        timeline=[TimelineEntry.model_validate(e) for e in entries[:TIMELINE_LIMIT]],
        timeline_truncated=len(entries) > TIMELINE_LIMIT,
    )


async def list_cases(
    *,
    session: AsyncSession,
    principal: Principal,
    filters: CaseFilters,
    now: dt.datetime,
    limit: int,
    cursor: str | None,
) -> tuple[list[Case], str | None]:
    """A page of the caller's cases in creation order, filtered."""
    statement = filtered(select(Case), principal=principal, filters=filters, now=now)
    rows = (await session.exec(keyset(statement, col(Case.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda case: case.id)
