"""The targets and benchmarks that apply to a metric answer (`include=target,benchmark`) and to scorecards."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.models import Benchmark, Target
from services.metrics_api.queries import Filters
from services.metrics_api.sql import ancestors
from shared.auth import Principal


async def active_targets(
    session: AsyncSession, *, org: str, metrics: tuple[str, ...], unit: str | None, filters: Filters, day: dt.date
) -> dict[str, Target]:
    """Per metric, the target that applies to a unit (None: the org) with these filters, active on `day`."""
    candidates = await target_candidates(session, org=org, metrics=metrics, filters=filters, day=day)
    found = {metric: applicable_target(candidates, metric, unit) for metric in metrics}
    return {metric: target for metric, target in found.items() if target is not None}


async def target_candidates(
    session: AsyncSession, *, org: str, metrics: tuple[str, ...], filters: Filters, day: dt.date
) -> list[Target]:
    """The org's targets of these metrics active on `day` that could apply to answers with these filters:
    of the same audience, survey and touchpoint, and of the question asked or of none."""
    statement = select(Target).where(
        Target.org == org,
        col(Target.metric).in_(metrics),
        Target.audience == filters.audience,
        col(Target.survey_id).is_not_distinct_from(filters.survey_id),
        col(Target.touchpoint_id).is_not_distinct_from(filters.touchpoint_id),
        or_(col(Target.question).is_(None), col(Target.question) == filters.question),
        col(Target.period_start) <= day,
        col(Target.period_end) >= day,
    )
    return list((await session.exec(statement)).all())


def applicable_target(candidates: list[Target], metric: str, unit: str | None) -> Target | None:
    """The target of the nearest unit at or above `unit` (the org's last), of the question before one of none.

    A target set on a unit applies to its whole subtree unless a deeper unit has its own (DESIGN §3).
    """
    paths = {path: depth for depth, path in enumerate(ancestors(unit or ""))}  # "" (the org) is depth 0
    fitting = [t for t in candidates if t.metric == metric and (t.unit or "") in paths]
    if not fitting:
        return None
    # Targets of one scope never overlap (409 on write), so (depth, question) picks one.
    return max(fitting, key=lambda t: (paths[t.unit or ""], t.question is not None))


def target_status(target: Target | None, value: float | None) -> dict[str, Any] | None:
    """The `target` field of an answer: the goal and whether `value` meets it (higher is better everywhere)."""
    if target is None:
        return None
    met = None if value is None else value >= target.value
    return {"id": target.id, "value": target.value, "name": target.name, "met": met}


async def applicable_benchmark(
    session: AsyncSession, *, principal: Principal, metric: str, unit: str | None, touchpoint_id: str | None
) -> Benchmark | None:
    """The most specific visible benchmark of `metric` for the unit (or an ancestor, or the org) and touchpoint."""
    paths = [p for p in ancestors(unit or "") if p]
    statement = select(Benchmark).where(
        Benchmark.org == principal.org,
        Benchmark.metric == metric,
        or_(col(Benchmark.unit).is_(None), col(Benchmark.unit).in_(paths)),
        or_(col(Benchmark.touchpoint_id).is_(None), col(Benchmark.touchpoint_id) == touchpoint_id),
    )
    visible = [b for b in (await session.exec(statement)).all() if b.unit is None or principal.sees_unit(b.unit)]
    if not visible:
        return None
    # Deepest unit first, then a touchpoint match, then the newest.
    return max(visible, key=lambda b: (len(b.unit.split("/")) if b.unit else 0, b.touchpoint_id is not None, b.id))


def benchmark_status(benchmark: Benchmark | None, value: float | None) -> dict[str, Any] | None:
    """The `benchmark` field of an answer: the reference and the value's difference from it."""
    if benchmark is None:
        return None
    difference = None if value is None else value - benchmark.value
    return {
        "id": benchmark.id,
        "value": benchmark.value,
        "name": benchmark.name,
        "source": benchmark.source,
        "difference": difference,
    }
