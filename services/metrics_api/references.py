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
    """Per metric, the target of exactly this scope (unit, survey, touchpoint, question) active on `day`."""
    statement = select(Target).where(
        Target.org == org,
        col(Target.metric).in_(metrics),
        col(Target.unit).is_not_distinct_from(unit),
        col(Target.survey_id).is_not_distinct_from(filters.survey_id),
        col(Target.touchpoint_id).is_not_distinct_from(filters.touchpoint_id),
        col(Target.question).is_not_distinct_from(filters.question),
        col(Target.period_start) <= day,
        col(Target.period_end) >= day,
    )
    # Targets of one scope never overlap (409 on write), so there is at most one per metric.
    return {target.metric: target for target in (await session.exec(statement)).all()}


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
