"""Benchmarks: external reference values per metric and scope (org-wide, a unit subtree, a touchpoint)."""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.models import Benchmark
from services.metrics_api.schemas import BenchmarkCreate
from services.metrics_api.targets import check_value
from shared.auth import Principal
from shared.db import in_subtrees, utcnow
from shared.errors import Forbidden, NotFound
from shared.ids import new_id
from shared.pagination import keyset, page_of


def _check_writable(principal: Principal, unit: str | None) -> None:
    """403 when a unit-restricted token writes an org-wide benchmark or one outside its units."""
    if principal.units is None:
        return
    if unit is None:
        raise Forbidden("Your token is restricted to units; it may not write org-wide benchmarks")
    if not principal.sees_unit(unit):
        raise Forbidden(f"Your token may not write benchmarks outside {', '.join(principal.units)}")


def _visible(principal: Principal, benchmark: Benchmark) -> bool:
    # An org-wide reference value reveals nothing of any unit: every token of the org may read it.
    return benchmark.unit is None or principal.sees_unit(benchmark.unit)


async def create_benchmark(*, session: AsyncSession, principal: Principal, data: BenchmarkCreate) -> Benchmark:
    """Add a benchmark; 422 for a value outside the metric's range, 403 outside the token's units."""
    _check_writable(principal, data.unit)
    check_value(data.metric, data.value)
    benchmark = Benchmark(id=new_id("bmk"), org=principal.org, created_at=utcnow(), **data.model_dump())
    session.add(benchmark)
    await session.flush()
    return benchmark


async def get_benchmark(*, session: AsyncSession, principal: Principal, benchmark_id: str) -> Benchmark:
    """One benchmark of the caller's org that the caller may see; 404 otherwise."""
    benchmark = await session.get(Benchmark, benchmark_id)
    if benchmark is None or benchmark.org != principal.org or not _visible(principal, benchmark):
        raise NotFound(f"No benchmark {benchmark_id!r}")
    return benchmark


async def delete_benchmark(*, session: AsyncSession, principal: Principal, benchmark_id: str) -> None:
    """Remove a benchmark; 404 when unseen, 403 when the token may see but not write it (org-wide)."""
    benchmark = await get_benchmark(session=session, principal=principal, benchmark_id=benchmark_id)
    _check_writable(principal, benchmark.unit)
    await session.delete(benchmark)
    await session.flush()


async def list_benchmarks(
    *,
    session: AsyncSession,
    principal: Principal,
    metric: str | None,
    unit: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Benchmark], str | None]:
    """A page of the org's benchmarks in creation order, optionally of one metric or exactly one unit."""
    statement = select(Benchmark).where(Benchmark.org == principal.org)
    if principal.units is not None:
        statement = statement.where(
            or_(col(Benchmark.unit).is_(None), in_subtrees(col(Benchmark.unit), principal.units))
        )
    if metric is not None:
        statement = statement.where(Benchmark.metric == metric)
    if unit is not None:
        statement = statement.where(Benchmark.unit == unit)
    rows = (await session.exec(keyset(statement, col(Benchmark.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda benchmark: benchmark.id)
