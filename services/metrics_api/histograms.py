"""Histograms of one metric on a scope over a range of days, for other services (loop_api's plan impact).

Served like every metric: from the rollups (per unit ancestor and day or month) unless touchpoints are named,
which only the facts keep; several touchpoints are disjoint, so their histograms add. Counts come per scale
(a CSAT asked on 1-5 and on 1-7 are two histograms), with the org's minimum sample and time zone, so the
caller computes its figures without a second call.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.models import OrgSettingsRow
from services.metrics_api.period import Period
from services.metrics_api.queries import Filters, Scope, Split, score_rows
from services.metrics_api.schemas import MetricsOrgSettings
from services.metrics_api.sql import top_roots
from shared.errors import invalid
from shared.org_settings import load_org_settings

MAX_DAYS = 3 * 366


class ScaleHistogram(BaseModel):
    """Answers per score 0..10 (`counts[s]`) given on one scale."""

    scale_min: int | None
    scale_max: int | None
    counts: list[int] = Field(min_length=11, max_length=11)


class HistogramAnswer(BaseModel):
    """The histograms of a metric on a scope and range of days (inclusive, in the org's time zone)."""

    org: str
    metric: str
    start: dt.date = Field(serialization_alias="from")
    end: dt.date = Field(serialization_alias="to")
    units: list[str]
    touchpoint_ids: list[str]
    survey_id: str | None
    n: int
    min_sample: int
    timezone: str
    histograms: list[ScaleHistogram]


async def histograms(
    *,
    session: AsyncSession,
    org: str,
    metric: str,
    units: list[str],
    touchpoint_ids: list[str],
    survey_id: str | None,
    start: dt.date,
    end: dt.date,
) -> HistogramAnswer:
    """Counts per score of `metric` answers in the unit subtrees (none: the org) and touchpoints (none: all)."""
    if end < start:
        raise invalid("to", "must not be before `from`", "empty_range")
    if (end - start).days + 1 > MAX_DAYS:
        raise invalid("from", f"the range is at most {MAX_DAYS} days", "range_too_long")
    settings = await load_org_settings(session, table=OrgSettingsRow, model=MetricsOrgSettings, org=org)
    scope = Scope(org, top_roots(units) if units else ("",))
    period = Period(first=start, last=end, zone=ZoneInfo(settings.timezone))
    by_scale: dict[tuple[int, int] | None, list[int]] = {}
    asked: list[str | None] = list(touchpoint_ids) or [None]
    for touchpoint in asked:
        filters = Filters(survey_id=survey_id, touchpoint_id=touchpoint)
        for row in await score_rows(session, kind=metric, scope=scope, filters=filters, period=period, split=Split()):
            held = by_scale.setdefault(row.scale, [0] * 11)
            by_scale[row.scale] = [a + b for a, b in zip(held, row.counts, strict=True)]
    found = [
        ScaleHistogram(scale_min=scale[0] if scale else None, scale_max=scale[1] if scale else None, counts=counts)
        for scale, counts in sorted(by_scale.items(), key=lambda item: item[0] or (0, 0))
    ]
    return HistogramAnswer(
        org=org,
        metric=metric,
        start=start,
        end=end,
        units=list(scope.roots) if units else [],
        touchpoint_ids=touchpoint_ids,
        survey_id=survey_id,
        n=sum(sum(h.counts) for h in found),
        min_sample=settings.min_sample,
        timezone=settings.timezone,
        histograms=found,
    )
