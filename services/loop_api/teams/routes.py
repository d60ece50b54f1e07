"""`/v1/teams` and `/v1/escalations`: who works cases, and who gets them when an SLA is breached."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.loop_api.teams import service as teams
from services.loop_api.teams.schemas import Escalations, TeamCreate, TeamPublic, TeamUpdate
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(route_class=IdempotentRoute, tags=["teams"], responses=problem_responses(401, 403, 422))
Reader = Annotated[Principal, Depends(require_scopes("cases:read"))]
Writer = Annotated[Principal, Depends(require_scopes("cases:write"))]


@router.post("/v1/teams", status_code=201, response_model=TeamPublic, responses=problem_responses(409))
async def create_team(data: TeamCreate, principal: Writer, session: IdempotentSession) -> TeamPublic:
    """Create a team; rules route cases to it and its members take them in turn."""
    return TeamPublic.model_validate(await teams.create_team(session=session, principal=principal, data=data))


@router.get("/v1/teams", response_model=Page[TeamPublic])
async def list_teams(
    principal: Reader, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[TeamPublic]:
    """The org's teams in creation order."""
    items, next_cursor = await teams.list_teams(session=session, principal=principal, limit=limit, cursor=cursor)
    return Page(items=[TeamPublic.model_validate(t) for t in items], next_cursor=next_cursor)


@router.get("/v1/teams/{team_id}", response_model=TeamPublic, responses=problem_responses(404))
async def get_team(team_id: str, principal: Reader, session: SessionDep) -> TeamPublic:
    """One team."""
    return TeamPublic.model_validate(await teams.get_team(session=session, principal=principal, team_id=team_id))


@router.patch("/v1/teams/{team_id}", response_model=TeamPublic, responses=problem_responses(404, 409))
async def update_team(team_id: str, data: TeamUpdate, principal: Writer, session: SessionDep) -> TeamPublic:
    """Rename a team or replace its members (cases already assigned keep their owner)."""
    team = await teams.update_team(session=session, principal=principal, team_id=team_id, data=data)
    return TeamPublic.model_validate(team)


@router.get("/v1/escalations", response_model=Escalations)
async def get_escalations(principal: Reader, session: SessionDep) -> Escalations:
    """Who gets the org's breached cases, by unit subtree."""
    return await teams.load_escalations(session, principal.org)


@router.put("/v1/escalations", response_model=Escalations)
async def put_escalations(data: Escalations, principal: Writer, session: SessionDep) -> Escalations:
    """Replace the escalation owners: the deepest unit containing a case's unit wins; `unit: null` is org-wide."""
    return await teams.replace_escalations(session=session, principal=principal, data=data)
