"""`/v1/benchmarks`: external reference values per metric and scope (read: `metrics:read`; write: `admin`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from services.metrics_api import benchmarks
from services.metrics_api.schemas import BenchmarkCreate, BenchmarkPublic, Metric
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.schemas.common import UnitPath

router = APIRouter(
    route_class=IdempotentRoute,
    prefix="/v1/benchmarks",
    tags=["benchmarks"],
    responses=problem_responses(401, 403, 422),
)
Reader = Annotated[Principal, Depends(require_scopes("metrics:read"))]
Writer = Annotated[Principal, Depends(require_scopes("admin"))]


@router.post("", status_code=201, response_model=BenchmarkPublic)
async def create_benchmark(data: BenchmarkCreate, principal: Writer, session: IdempotentSession) -> BenchmarkPublic:
    """Add an external reference value for a metric on a scope (scope `admin`)."""
    benchmark = await benchmarks.create_benchmark(session=session, principal=principal, data=data)
    return BenchmarkPublic.model_validate(benchmark)


@router.get("", response_model=Page[BenchmarkPublic])
async def list_benchmarks(
    principal: Reader,
    session: SessionDep,
    metric: Annotated[Metric | None, Query(description="Only benchmarks of this metric")] = None,
    unit: Annotated[UnitPath | None, Query(description="Only benchmarks of exactly this unit")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[BenchmarkPublic]:
    """The org's benchmarks in creation order, a page at a time (scope `metrics:read`)."""
    items, next_cursor = await benchmarks.list_benchmarks(
        session=session, principal=principal, metric=metric, unit=unit, limit=limit, cursor=cursor
    )
    return Page(items=[BenchmarkPublic.model_validate(b) for b in items], next_cursor=next_cursor)


@router.get("/{benchmark_id}", response_model=BenchmarkPublic, responses=problem_responses(404))
async def get_benchmark(benchmark_id: str, principal: Reader, session: SessionDep) -> BenchmarkPublic:
    """One benchmark (scope `metrics:read`)."""
    benchmark = await benchmarks.get_benchmark(session=session, principal=principal, benchmark_id=benchmark_id)
    return BenchmarkPublic.model_validate(benchmark)


@router.delete("/{benchmark_id}", status_code=204, response_class=Response, responses=problem_responses(404))
async def delete_benchmark(benchmark_id: str, principal: Writer, session: SessionDep) -> Response:
    """Remove a benchmark (scope `admin`)."""
    await benchmarks.delete_benchmark(session=session, principal=principal, benchmark_id=benchmark_id)
    return Response(status_code=204)
