"""The unit hierarchy: create, read and list the org's units, inside the caller's unit subtrees."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Unit
from services.survey_api.catalog.schemas import UnitCreate
from shared.auth import Principal
from shared.db import in_subtrees
from shared.errors import Conflict, Forbidden, NotFound, invalid
from shared.ids import new_id
from shared.pagination import keyset, page_of
from shared.schemas.common import parent_of


async def find_unit_by_path(session: AsyncSession, *, org: str, path: str) -> Unit | None:
    """The org's unit at `path`, if there is one."""
    result = await session.exec(select(Unit).where(Unit.org == org, Unit.path == path))
    return result.first()


async def create_unit(*, session: AsyncSession, principal: Principal, data: UnitCreate) -> Unit:
    """Add a unit below its existing parent; 409 if the path is taken, 403 outside the caller's units."""
    if not principal.sees_unit(data.path):
        raise Forbidden(f"Your token may not create units outside {', '.join(principal.units or ())}")
    parent = parent_of(data.path)
    if parent is not None and await find_unit_by_path(session, org=principal.org, path=parent) is None:
        raise invalid("path", f"parent unit {parent!r} does not exist; create it first", "parent_missing")
    if await find_unit_by_path(session, org=principal.org, path=data.path) is not None:
        raise Conflict(f"A unit with path {data.path!r} already exists")
    unit = Unit(
        id=new_id("unit"),
        org=principal.org,
        path=data.path,
        name=data.name,
        parent_path=parent,
        depth=data.path.count("/") + 1,
    )
    session.add(unit)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create of the same path won the race
        raise Conflict(f"A unit with path {data.path!r} already exists") from exc
    return unit


async def get_unit(*, session: AsyncSession, principal: Principal, unit_id: str) -> Unit:
    """One unit of the caller's org and units; 404 otherwise."""
    unit = await session.get(Unit, unit_id)
    if unit is None or unit.org != principal.org or not principal.sees_unit(unit.path):
        raise NotFound(f"No unit {unit_id!r}")
    return unit


async def list_units(
    *,
    session: AsyncSession,
    principal: Principal,
    under: str | None,
    parent: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Unit], str | None]:
    """A page of the org's units in creation order, optionally one subtree or one parent's children."""
    statement = select(Unit).where(Unit.org == principal.org)
    if principal.units is not None:
        statement = statement.where(in_subtrees(col(Unit.path), principal.units))
    if under is not None:
        statement = statement.where(in_subtrees(col(Unit.path), [under]))
    if parent is not None:
        statement = statement.where(Unit.parent_path == parent)
    rows = (await session.exec(keyset(statement, col(Unit.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda unit: unit.id)
