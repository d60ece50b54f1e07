"""Touchpoints: the points of the org's customer journeys (journey → stage → touchpoint) where surveys listen.

Stages are ordered as the org says: each touchpoint carries its stage's `stage_position`, one number per
(journey, stage) kept equal across the stage's touchpoints (setting it on one sets it on all; a touchpoint
joining a stage takes the stage's). A retired touchpoint keeps its surveys and history; no new survey uses it.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Touchpoint
from services.survey_api.catalog.schemas import TouchpointCreate, TouchpointUpdate
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.pagination import keyset, page_of


async def find_touchpoint(session: AsyncSession, *, org: str, touchpoint_id: str) -> Touchpoint | None:
    """The org's touchpoint with this id, if there is one."""
    touchpoint = await session.get(Touchpoint, touchpoint_id)
    return touchpoint if touchpoint is not None and touchpoint.org == org else None


def _taken(journey: str, name: str) -> Conflict:
    return Conflict(f"The journey {journey!r} already has a touchpoint named {name!r}")


async def _name_taken(session: AsyncSession, *, org: str, journey: str, name: str) -> bool:
    found = await session.exec(
        select(Touchpoint.id).where(Touchpoint.org == org, Touchpoint.journey == journey, Touchpoint.name == name)
    )
    return found.first() is not None


async def _stage_position(session: AsyncSession, *, org: str, journey: str, stage: str) -> int | None:
    """The position the stage already has (None: no touchpoint of the org is in it yet)."""
    statement = select(Touchpoint.stage_position).where(
        Touchpoint.org == org, Touchpoint.journey == journey, Touchpoint.stage == stage
    )
    return (await session.exec(statement)).first()


async def _place_stage(session: AsyncSession, *, org: str, journey: str, stage: str, position: int) -> None:
    """Give every touchpoint of the stage this position (one number per stage)."""
    mine = (col(Touchpoint.org) == org, col(Touchpoint.journey) == journey, col(Touchpoint.stage) == stage)
    await session.exec(update(Touchpoint).where(*mine).values(stage_position=position))  # type: ignore[call-overload]


async def _flush(session: AsyncSession, touchpoint: Touchpoint) -> Touchpoint:
    session.add(touchpoint)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create or rename to the same name won the race
        raise _taken(touchpoint.journey, touchpoint.name) from exc
    return touchpoint


async def create_touchpoint(*, session: AsyncSession, principal: Principal, data: TouchpointCreate) -> Touchpoint:
    """Add a touchpoint to one of the org's journeys; 409 if that journey already has one of this name."""
    org = principal.org
    if await _name_taken(session, org=org, journey=data.journey, name=data.name):
        raise _taken(data.journey, data.name)
    current = await _stage_position(session, org=org, journey=data.journey, stage=data.stage)
    position = data.stage_position if data.stage_position is not None else current or 0
    if data.stage_position is not None and current is not None and current != position:
        await _place_stage(session, org=org, journey=data.journey, stage=data.stage, position=position)
    fields = data.model_dump(exclude={"stage_position"})
    return await _flush(session, Touchpoint(id=new_id("tp"), org=org, stage_position=position, **fields))


async def update_touchpoint(
    *, session: AsyncSession, principal: Principal, touchpoint_id: str, data: TouchpointUpdate
) -> Touchpoint:
    """Rename, move, order the stage of, or retire a touchpoint (fields left out stay); 409 on a taken name."""
    touchpoint = await get_touchpoint(session=session, principal=principal, touchpoint_id=touchpoint_id)
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    journey, name = changes.get("journey", touchpoint.journey), changes.get("name", touchpoint.name)
    if (journey, name) != (touchpoint.journey, touchpoint.name) and await _name_taken(
        session, org=principal.org, journey=journey, name=name
    ):
        raise _taken(journey, name)
    stage = changes.get("stage", touchpoint.stage)
    if "stage_position" not in changes and (journey, stage) != (touchpoint.journey, touchpoint.stage):
        joined = await _stage_position(session, org=principal.org, journey=journey, stage=stage)
        changes["stage_position"] = joined if joined is not None else touchpoint.stage_position
    touchpoint.sqlmodel_update(changes)
    if "stage_position" in changes:
        position = touchpoint.stage_position
        await _place_stage(session, org=principal.org, journey=journey, stage=stage, position=position)
    return await _flush(session, touchpoint)


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
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Touchpoint], str | None]:
    """A page of the org's touchpoints in creation order, optionally of one journey, stage and/or status."""
    statement = select(Touchpoint).where(Touchpoint.org == principal.org)
    if status is not None:
        statement = statement.where(Touchpoint.status == status)
    if journey is not None:
        statement = statement.where(Touchpoint.journey == journey)
    if stage is not None:
        statement = statement.where(Touchpoint.stage == stage)
    rows = (await session.exec(keyset(statement, col(Touchpoint.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda touchpoint: touchpoint.id)
