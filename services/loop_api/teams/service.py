"""Teams (create, read, list, change members), round-robin picking, and the escalation owners of units."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.models import EscalationMap, Team
from services.loop_api.people.service import check_handles
from services.loop_api.rules.matching import deepest
from services.loop_api.teams.schemas import Escalations, TeamCreate, TeamUpdate
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.pagination import keyset, page_of


async def create_team(*, session: AsyncSession, principal: Principal, data: TeamCreate) -> Team:
    """Add a team; 409 when the org already has a team of that name."""
    await check_handles(session, principal.org, data.members, "members")
    now = utcnow()
    team = Team(
        id=new_id("team"), org=principal.org, name=data.name, members=data.members, created_at=now, updated_at=now
    )
    session.add(team)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"A team named {data.name!r} already exists") from exc
    return team


async def get_team(*, session: AsyncSession, principal: Principal, team_id: str) -> Team:
    """One team of the caller's org; 404 otherwise."""
    team = await session.get(Team, team_id)
    if team is None or team.org != principal.org:
        raise NotFound(f"No team {team_id!r}")
    return team


async def update_team(*, session: AsyncSession, principal: Principal, team_id: str, data: TeamUpdate) -> Team:
    """Rename a team or replace its members (cases already assigned keep their owner)."""
    team = await get_team(session=session, principal=principal, team_id=team_id)
    changes = data.model_dump(exclude_unset=True)
    await check_handles(session, principal.org, changes.get("members") or [], "members")
    if any(getattr(team, name) != value for name, value in changes.items()):
        for name, value in changes.items():
            setattr(team, name, value)
        team.updated_at = utcnow()
        session.add(team)
        try:
            await session.flush()
        except IntegrityError as exc:
            raise Conflict(f"A team named {data.name!r} already exists") from exc
    return team


async def list_teams(
    *, session: AsyncSession, principal: Principal, limit: int, cursor: str | None
) -> tuple[list[Team], str | None]:
    """A page of the org's teams in creation order."""
    statement = select(Team).where(Team.org == principal.org)
    rows = (await session.exec(keyset(statement, col(Team.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda team: team.id)


async def missing_teams(session: AsyncSession, org: str, team_ids: Iterable[str]) -> set[str]:
    """The ids among `team_ids` that are not teams of the org."""
    wanted = set(team_ids)
    if not wanted:
        return set()
    found = (await session.exec(select(Team.id).where(Team.org == org, col(Team.id).in_(wanted)))).all()
    return wanted - set(found)


async def next_member(session: AsyncSession, team_id: str) -> str | None:
    """The member whose turn it is (round robin), or None when the team has no members.

    One atomic `UPDATE … RETURNING` bumps the counter, so concurrent cases never get the same turn.
    """
    bumped = await session.exec(
        update(Team)
        .where(col(Team.id) == team_id)
        .values(assigned=col(Team.assigned) + 1)
        .returning(col(Team.assigned), col(Team.members))
    )
    row = bumped.first()
    if row is None or not row[1]:
        return None
    assigned, members = row
    return str(members[(assigned - 1) % len(members)])


async def load_escalations(session: AsyncSession, org: str) -> Escalations:
    """The org's escalation owners (none until set)."""
    row = await session.get(EscalationMap, org)
    return Escalations.model_validate({"items": row.items if row is not None else []})


async def replace_escalations(*, session: AsyncSession, principal: Principal, data: Escalations) -> Escalations:
    """Replace the org's escalation owners as a whole."""
    await check_handles(session, principal.org, [e.owner for e in data.items], "items")
    row = await session.get(EscalationMap, principal.org)
    items = [e.model_dump(mode="json") for e in data.items]
    if row is None:
        session.add(EscalationMap(org=principal.org, items=items))
    else:
        row.items, row.updated_at = items, utcnow()
        session.add(row)
    await session.flush()
    return data


def escalation_owner(escalations: Escalations, unit: str | None) -> str | None:
    """The owner for the deepest escalation unit that contains `unit` (the org-wide one when set)."""
    return deepest(unit, ((item.unit, item.owner) for item in escalations.items))
