"""Targets: the goal for a metric on a scope over a period, unambiguous per scope, inside the caller's units."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import false, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.models import Target
from services.metrics_api.schemas import TargetCreate, TargetUpdate
from shared.auth import Principal
from shared.db import in_subtrees, utcnow
from shared.errors import Conflict, Forbidden, NotFound, invalid
from shared.ids import new_id
from shared.pagination import keyset, page_of

# The valid goal per metric. CES is 1..7 on the default scale; 0..10 admits orgs using another CES scale (and
# any rating scale: its goal is a mean score).
VALUE_RANGES: dict[str, tuple[float, float]] = {
    "nps": (-100.0, 100.0),
    "csat": (0.0, 100.0),
    "ces": (0.0, 10.0),
    "rating": (0.0, 10.0),
    "success": (0.0, 100.0),
    "emotion": (1.0, 5.0),
    "response_rate": (0.0, 100.0),
}


def check_value(metric: str, value: float) -> None:
    """422 naming `value` when it lies outside the range of `metric`."""
    low, high = VALUE_RANGES[metric]
    if not low <= value <= high:
        raise invalid("value", f"a {metric} target must lie within {low:g}..{high:g}", "out_of_range")


def check_period(start: dt.date, end: dt.date) -> None:
    """422 naming `period_end` when the period ends before it starts."""
    if end < start:
        raise invalid("period_end", f"must not be before period_start ({start.isoformat()})", "period_reversed")


def _check_unit_writable(principal: Principal, unit: str | None) -> None:
    """403 when a unit-restricted token writes an org-wide target or one outside its units."""
    if principal.units is None:
        return
    if unit is None:
        raise Forbidden("Your token is restricted to units; it may not write org-wide targets")
    if not principal.sees_unit(unit):
        raise Forbidden(f"Your token may not write targets outside {', '.join(principal.units)}")


async def _lock_scope(session: AsyncSession, *, org: str, metric: str) -> None:
    """Serialise writers of one org's metric for this transaction, so two overlapping writes cannot both pass."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        digest = hashlib.blake2b(f"targets/{org}/{metric}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big", signed=True)
        await session.exec(select(func.pg_advisory_xact_lock(key)))
    else:
        # SQLite has one writer at a time: a no-op UPDATE takes the write lock now, before the overlap read.
        await session.exec(update(Target).where(false()).values(org=Target.org))


async def _check_no_overlap(session: AsyncSession, target: Target, *, start: dt.date, end: dt.date) -> None:
    """409 when another target of `target`'s org, metric and scope overlaps the period `start`..`end`."""
    statement = select(Target.id).where(
        Target.org == target.org,
        Target.metric == target.metric,
        Target.audience == target.audience,
        Target.id != target.id,
        col(Target.unit).is_not_distinct_from(target.unit),
        col(Target.survey_id).is_not_distinct_from(target.survey_id),
        col(Target.touchpoint_id).is_not_distinct_from(target.touchpoint_id),
        col(Target.question).is_not_distinct_from(target.question),
        col(Target.period_start) <= end,
        col(Target.period_end) >= start,
    )
    other = (await session.exec(statement.limit(1))).first()
    if other is not None:
        raise Conflict(f"Target {other!r} already sets a {target.metric} goal for this scope in an overlapping period")


async def create_target(*, session: AsyncSession, principal: Principal, data: TargetCreate) -> Target:
    """Add a target; 422 for a value out of range or a reversed period, 409 if it overlaps one of its scope."""
    _check_unit_writable(principal, data.unit)
    check_value(data.metric, data.value)
    check_period(data.period_start, data.period_end)
    now = utcnow()  # one instant, so a new target's created_at equals its updated_at
    target = Target(id=new_id("tgt"), org=principal.org, created_at=now, updated_at=now, **data.model_dump())
    await _lock_scope(session, org=principal.org, metric=data.metric)
    await _check_no_overlap(session, target, start=data.period_start, end=data.period_end)
    session.add(target)
    await session.flush()
    return target


async def get_target(*, session: AsyncSession, principal: Principal, target_id: str) -> Target:
    """One target of the caller's org and units; 404 otherwise (org-wide ones are outside every unit)."""
    target = await session.get(Target, target_id)
    if target is None or target.org != principal.org or not _visible(principal, target):
        raise NotFound(f"No target {target_id!r}")
    return target


def _visible(principal: Principal, target: Target) -> bool:
    # A target the caller can see is one it may also change: both need its unit inside the token's units.
    if principal.units is None:
        return True
    return target.unit is not None and principal.sees_unit(target.unit)


async def update_target(*, session: AsyncSession, principal: Principal, target_id: str, data: TargetUpdate) -> Target:
    """Change a target's name, value or period, revalidated as on create (422, 409)."""
    target = await get_target(session=session, principal=principal, target_id=target_id)
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        return target
    value = changes.get("value", target.value)
    start, end = changes.get("period_start", target.period_start), changes.get("period_end", target.period_end)
    check_value(target.metric, value)
    check_period(start, end)
    if (start, end) != (target.period_start, target.period_end):
        await _lock_scope(session, org=target.org, metric=target.metric)
        await _check_no_overlap(session, target, start=start, end=end)
    target.sqlmodel_update(changes)
    target.updated_at = utcnow()
    session.add(target)
    await session.flush()
    return target


async def delete_target(*, session: AsyncSession, principal: Principal, target_id: str) -> None:
    """Remove a target of the caller's org and units; 404 otherwise."""
    target = await get_target(session=session, principal=principal, target_id=target_id)
    await session.delete(target)
    await session.flush()


async def list_targets(
    *,
    session: AsyncSession,
    principal: Principal,
    metric: str | None,
    unit: str | None,
    active_on: dt.date | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Target], str | None]:
    """A page of the org's targets in creation order, optionally of one metric, one unit, or active on a day."""
    statement = select(Target).where(Target.org == principal.org)
    if principal.units is not None:
        statement = statement.where(in_subtrees(col(Target.unit), principal.units))
    if metric is not None:
        statement = statement.where(Target.metric == metric)
    if unit is not None:
        statement = statement.where(Target.unit == unit)
    if active_on is not None:
        statement = statement.where(col(Target.period_start) <= active_on, col(Target.period_end) >= active_on)
    rows = (await session.exec(keyset(statement, col(Target.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda target: target.id)
