"""`/v1/scorecards[/{unit}]`: one small, cacheable answer per unit, and its trend chart (scope `metrics:read`)."""

from __future__ import annotations

import hashlib
import json
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api import scorecards
from services.metrics_api.case_figures import CaseFigures
from services.metrics_api.schemas import Audience, Scorecard
from services.metrics_api.svg_chart import render_svg
from services.metrics_api.trend_chart import TrendRequest, trend_chart
from shared.auth import Principal, require_scopes
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.schemas.common import UNIT_PATH_PATTERN

router = APIRouter(prefix="/v1/scorecards", tags=["scorecards"], responses=problem_responses(401, 403, 422))
Reader = Annotated[Principal, Depends(require_scopes("metrics:read"))]
Days = Annotated[int, Query(ge=1, le=366, description="Length of the current period, today included")]
AudienceQuery = Annotated[
    Audience,
    Query(description="Whose answers: customers, or employees (anonymous; no case figures: they open no cases)"),
]
CACHE_CONTROL = "private, max-age=60"
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the `ETag` in `If-None-Match` is still current"}
}


def _etag_matches(header: str | None, etag: str) -> bool:
    """Whether `If-None-Match` names this ETag (weak comparison, as RFC 9110 asks for GET)."""
    if header is None:
        return False
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return "*" in candidates or etag in candidates


def _cached(request: Request, card: Scorecard) -> Response:
    """The scorecard with an ETag (a hash of the body), or 304 when the client already holds it."""
    body = json.dumps(card.model_dump(mode="json", by_alias=True), separators=(",", ":"), ensure_ascii=False).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    # The answer depends on the token (its org and units): shared caches must not keep it.
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization"}
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)


def _cases(request: Request, principal: Principal, unit: str | None, audience: str) -> scorecards.CaseSource | None:
    """How this app gets the case figures of the scorecard: from loop_api, remembered for a minute (cases are
    about customers: an employees' scorecard has none)."""
    if audience != "customers":
        return None
    figures: CaseFigures = request.app.state.case_figures
    return partial(figures.get, principal, unit)


@router.get("", response_model=Scorecard, responses=NOT_MODIFIED)
async def get_org_scorecard(
    request: Request, principal: Reader, session: SessionDep, days: Days = 30, audience: AudienceQuery = "customers"
) -> Response:
    """The scorecard of the whole org (of the token's units, for a unit-restricted token)."""
    card = await scorecards.scorecard(
        session=session,
        principal=principal,
        unit=None,
        days=days,
        cases=_cases(request, principal, None, audience),
        audience=audience,
    )
    return _cached(request, card)


ChartMetric = Annotated[Literal["nps", "csat", "ces"], Query(description="The metric to draw")]
Weeks = Annotated[int, Query(ge=2, le=104, description="How many ISO weeks, the current one included")]
SVG_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}, "description": "An accessible SVG chart"}
}


async def _chart(session: AsyncSession, principal: Principal, unit: str | None, request: TrendRequest) -> Response:
    chart = await trend_chart(session=session, principal=principal, unit=unit, request=request)
    headers = {"Cache-Control": CACHE_CONTROL, "Vary": "Authorization"}
    return Response(content=render_svg(chart), media_type="image/svg+xml", headers=headers)


@router.get("/chart.svg", response_class=Response, responses=SVG_RESPONSES)
async def get_org_trend_chart(
    principal: Reader,
    session: SessionDep,
    metric: ChartMetric = "nps",
    weeks: Weeks = 12,
    audience: AudienceQuery = "customers",
) -> Response:
    """The org's weekly trend of a metric as an SVG chart (title, description, axes, 95 % band, target)."""
    return await _chart(session, principal, None, TrendRequest(metric=metric, weeks=weeks, audience=audience))


@router.get("/{unit:path}/chart.svg", response_class=Response, responses=SVG_RESPONSES)
async def get_unit_trend_chart(
    principal: Reader,
    session: SessionDep,
    unit: Annotated[str, Path(pattern=UNIT_PATH_PATTERN, max_length=255, description="A unit path: emea/de")],
    metric: ChartMetric = "nps",
    weeks: Weeks = 12,
    audience: AudienceQuery = "customers",
) -> Response:
    """A unit's (and its subtree's) weekly trend of a metric as an SVG chart; 403 outside the token's units."""
    return await _chart(session, principal, unit, TrendRequest(metric=metric, weeks=weeks, audience=audience))


@router.get("/{unit:path}", response_model=Scorecard, responses=NOT_MODIFIED)
async def get_unit_scorecard(
    request: Request,
    principal: Reader,
    session: SessionDep,
    unit: Annotated[str, Path(pattern=UNIT_PATH_PATTERN, max_length=255, description="A unit path: emea/de")],
    days: Days = 30,
    audience: AudienceQuery = "customers",
) -> Response:
    """The scorecard of a unit and the units below it; 403 outside the token's units."""
    card = await scorecards.scorecard(
        session=session,
        principal=principal,
        unit=unit,
        days=days,
        cases=_cases(request, principal, unit, audience),
        audience=audience,
    )
    return _cached(request, card)
