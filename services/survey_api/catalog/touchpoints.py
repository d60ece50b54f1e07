"""Touchpoints: the points of the org's customer journeys (journey → stage → touchpoint) where surveys listen."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Touchpoint
from services.survey_api.catalog.schemas import TouchpointCreate
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.pagination import keyset, page_of


async def find_touchpoint(session: AsyncSession, *, org: str, touchpoint_id: str) -> Touchpoint | None:
    """The org's touchpoint with this id, if there is one."""
    touchpoint = await session.get(Touchpoint, touchpoint_id)
    return touchpoint if touchpoint is not None and touchpoint.org == org else None


def _taken(data: TouchpointCreate) -> Conflict:
    return Conflict(f"The journey {data.journey!r} already has a touchpoint named {data.name!r}")


async def create_touchpoint(*, session: AsyncSession, principal: Principal, data: TouchpointCreate) -> Touchpoint:
    """Add a touchpoint to one of the org's journeys; 409 if that journey already has one of this name."""
    existing = await session.exec(
        select(Touchpoint.id).where(
            Touchpoint.org == principal.org, Touchpoint.journey == data.journey, Touchpoint.name == data.name
        )
    )
    if existing.first() is not None:
        raise _taken(data)
    touchpoint = Touchpoint(id=new_id("tp"), org=principal.org, **data.model_dump())
    session.add(touchpoint)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create of the same name won the race
        raise _taken(data) from exc
    return touchpoint


async def get_touchpoint(*, session: AsyncSession, principal: Principal, touchpoint_id: str) -> Touchpoint:
    """One touchpoint of the caller's org; 404 otherwise."""
    touchpoint = await find_touchpoint(session, org=principal.org, touchpoint_id=touchpoint_id)
    if touchpoint is None:
        raise NotFound(f"No touchpoint {touchpoint_id!r}")
    return touchpoint


async def list_touchpoints(
    *,
    session: AsyncSession,
    principal: Principal,
    journey: str | None,
    stage: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Touchpoint], str | None]:
    """A page of the org's touchpoints in creation order, optionally of one journey and/or stage."""
    statement = select(Touchpoint).where(Touchpoint.org == principal.org)
    if journey is not None:
        statement = statement.where(Touchpoint.journey == journey)
    if stage is not None:
        statement = statement.where(Touchpoint.stage == stage)
    rows = (await session.exec(keyset(statement, col(Touchpoint.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda touchpoint: touchpoint.id)
