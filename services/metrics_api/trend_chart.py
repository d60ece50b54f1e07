"""The weekly trend of one metric for a scorecard's scope, with its intervals and target, as chart points."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.figures import figures_of
from services.metrics_api.metrics import resolve_scope
from services.metrics_api.models import OrgSettingsRow
from services.metrics_api.period import bucket_of, today
from services.metrics_api.queries import Filters
from services.metrics_api.references import active_targets
from services.metrics_api.schemas import MetricsOrgSettings
from services.metrics_api.scorecards import _kind_rows, _main_scale, _sample
from services.metrics_api.svg_chart import ChartPoint, TrendChart
from shared.auth import Principal
from shared.org_settings import load_org_settings

LABELS = {"nps": "NPS", "csat": "CSAT (% satisfied)", "ces": "CES (mean effort score)"}


@dataclass(frozen=True)
class TrendRequest:
    """What to draw: a metric over the last `weeks` ISO weeks (the current one included) for one audience."""

    metric: str
    weeks: int
    audience: str = "customers"


async def trend_chart(
    *, session: AsyncSession, principal: Principal, unit: str | None, request: TrendRequest
) -> TrendChart:
    """The metric per week (null below the minimum sample), its 95 % intervals and the target on the scope."""
    who = Filters(audience=request.audience)
    settings = await load_org_settings(session, table=OrgSettingsRow, model=MetricsOrgSettings, org=principal.org)
    scope = resolve_scope(principal, unit)
    last = today(ZoneInfo(settings.timezone))
    first_week = bucket_of(last, "week") - dt.timedelta(weeks=request.weeks - 1)
    rows = await _kind_rows(session, scope, who, first_week, last)
    scale = None if request.metric == "nps" else _main_scale(rows, request.metric)
    anonymous = request.audience == "employees"
    points = []
    for k in range(request.weeks):
        week = first_week + dt.timedelta(weeks=k)
        sample = _sample(rows, request.metric, scale, week, week + dt.timedelta(days=6))
        figures = figures_of(request.metric, sample, settings.min_sample, anonymous=anonymous)
        ci = figures.get("ci") or {}
        points.append(ChartPoint(week, figures["value"], figures["n"], ci.get("low"), ci.get("high")))
    target = None
    if len(scope.roots) == 1:
        found = await active_targets(
            session, org=scope.org, metrics=(request.metric,), unit=scope.roots[0] or None, filters=who, day=last
        )
        target = found[request.metric].value if request.metric in found else None
    return TrendChart(
        metric=request.metric,
        label=LABELS[request.metric],
        scope=unit or "the whole organisation",
        points=points,
        target=target,
        bounds=_bounds(request.metric, scale),
    )


def _bounds(metric: str, scale: tuple[int, int] | None) -> tuple[float, float]:
    """The range the metric can take: NPS -100..100, CSAT 0..100 %, CES its scale."""
    if metric == "nps":
        return (-100.0, 100.0)
    if metric == "csat":
        return (0.0, 100.0)
    low, high = scale or (1, 7)
    return (float(low), float(high))
