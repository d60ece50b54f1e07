"""`/v1/people`: who owns cases, and how they want to hear about them (`cases:read`, `cases:write`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from services.loop_api.clock import Now
from services.loop_api.people import service as people
from services.loop_api.people.schemas import HANDLE_PATTERN, PersonCreate, PersonPublic, PersonUpdate
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(route_class=IdempotentRoute, tags=["people"], responses=problem_responses(401, 403, 422))
Reader = Annotated[Principal, Depends(require_scopes("cases:read"))]
Writer = Annotated[Principal, Depends(require_scopes("cases:write"))]
HandlePath = Annotated[str, Path(pattern=HANDLE_PATTERN, max_length=255)]


@router.post("/v1/people", status_code=201, response_model=PersonPublic, responses=problem_responses(409))
async def create_person(data: PersonCreate, principal: Writer, session: IdempotentSession) -> PersonPublic:
    """Add a person who owns cases; from then on teams and escalations must name people of the org."""
    return PersonPublic.model_validate(await people.create_person(session=session, principal=principal, data=data))


@router.get("/v1/people", response_model=Page[PersonPublic])
async def list_people(
    principal: Reader, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[PersonPublic]:
    """The org's people by handle."""
    items, next_cursor = await people.list_people(session=session, principal=principal, limit=limit, cursor=cursor)
    return Page(items=[PersonPublic.model_validate(p) for p in items], next_cursor=next_cursor)


@router.get("/v1/people/{handle}", response_model=PersonPublic, responses=problem_responses(404))
async def get_person(handle: HandlePath, principal: Reader, session: SessionDep) -> PersonPublic:
    """One person."""
    return PersonPublic.model_validate(await people.get_person(session=session, principal=principal, handle=handle))


@router.patch("/v1/people/{handle}", response_model=PersonPublic, responses=problem_responses(404))
async def update_person(
    handle: HandlePath, data: PersonUpdate, principal: Writer, session: SessionDep, now: Now
) -> PersonPublic:
    """Change a person's name, email, units or notification choice (leaving the digest sends what waited)."""
    person = await people.update_person(session=session, principal=principal, handle=handle, data=data, now=now)
    return PersonPublic.model_validate(person)
