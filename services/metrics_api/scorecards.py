"""Scorecards: NPS, CSAT and CES of the last days against the period before, a 12-week NPS trend, targets,
the response count and the top reasons of a unit (or the org) - four queries, all on rollups. Beside effort
(CES) stand the other two components of an experience: success (the success rate, partly counted 0.5) and
emotion (its headline is % positive, 4-5 of 1-5, with a Wilson interval; its mean is given too).

CSAT and CES answers on several scales are never mixed: a scorecard reports the most answered scale of each
(and says which); the metrics endpoint answers any other scale when asked for its question or survey.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.figures import Sample, comparison, figures_of
from services.metrics_api.metrics import resolve_scope
from services.metrics_api.models import HISTOGRAM_COLUMNS, OrgSettingsRow, Target
from services.metrics_api.period import Period, bucket_of, today
from services.metrics_api.queries import Filters, Scope
from services.metrics_api.reason_impact import points_lost_by_code
from services.metrics_api.references import active_targets
from services.metrics_api.rollups import KIND_TABLE, REASON_TABLE, RESPONSE_TABLE
from services.metrics_api.schemas import MetricsOrgSettings, Scorecard
from services.metrics_api.schemas.scorecards import ScorecardCases
from services.metrics_api.sql import one_of
from services.metrics_api.to_target import TARGET_METRICS, to_target
from shared.auth import Principal
from shared.org_settings import load_org_settings

KINDS = ("nps", "csat", "ces", "success", "emotion")
TARGET_KINDS = ("nps", "csat", "ces", "success")  # an emotion target is a mean; the scorecard shows % positive
# What the scorecard shows of each kind (emotion: its share of positive answers).
MEASURES = {"emotion": "emotion_positive"}
TREND_WEEKS = 12
TOP_REASONS = 5
KindRow = tuple[str, dt.date, tuple[int, int], list[int]]
CaseSource = Callable[[Period], Coroutine[Any, Any, ScorecardCases | None]]


async def _kind_rows(session: AsyncSession, scope: Scope, who: Filters, first: dt.date, last: dt.date) -> list[KindRow]:
    """Answers per kind, day and scale in first..last, from the day rollups of the scope's units."""
    t = KIND_TABLE.c
    query = (
        select(t.kind, t.day, t.scale_min, t.scale_max, *(func.sum(t[c]) for c in HISTOGRAM_COLUMNS))
        .where(t.org == scope.org, one_of(t.unit, scope.roots), t.grain == "d", t.day >= first, t.day <= last)
        .where(one_of(t.kind, KINDS), *who.population(KIND_TABLE))
        .group_by(t.kind, t.day, t.scale_min, t.scale_max)
    )
    rows = (await session.exec(query)).all()
    return [(kind, day, (low, high), [int(c) for c in counts]) for kind, day, low, high, *counts in rows]


def _sample(rows: Iterable[KindRow], kind: str, scale: tuple[int, int] | None, first: dt.date, last: dt.date) -> Sample:
    sample = Sample.empty(kind)
    for row_kind, day, row_scale, counts in rows:
        if row_kind == kind and (scale is None or row_scale == scale) and first <= day <= last:
            sample.add(counts, row_scale)
    return sample


def _main_scale(rows: list[KindRow], kind: str) -> tuple[int, int] | None:
    """The scale most answers of `kind` were given on (None: no answers)."""
    totals: dict[tuple[int, int], int] = {}
    for row_kind, _, scale, counts in rows:
        if row_kind == kind:
            totals[scale] = totals.get(scale, 0) + sum(counts)
    return max(totals, key=lambda scale: (totals[scale], scale)) if totals else None


def _metric(
    rows: list[KindRow],
    kind: str,
    periods: tuple[Period, Period],
    min_sample: int,
    target: Target | None,
    anonymous: bool,
) -> dict[str, Any]:
    scale, measure = _main_scale(rows, kind), MEASURES.get(kind, kind)
    current, previous = (_sample(rows, kind, scale, p.first, p.last) for p in periods)
    now = figures_of(measure, current, min_sample, anonymous=anonymous)
    before = figures_of(measure, previous, min_sample, anonymous=anonymous)
    entry = {"value": now["value"], "n": now["n"], "ci": now["ci"]}
    entry["previous"] = {"value": before["value"], "n": before["n"]}
    entry |= comparison(measure, current, previous, min_sample)
    if kind in ("csat", "ces"):
        entry |= {"scale_min": now["scale_min"], "scale_max": now["scale_max"]}
    if kind == "emotion":
        entry["mean"] = figures_of(kind, current, min_sample, anonymous=anonymous)["mean"]
    if target is not None:
        entry["target"] = {"value": target.value, "met": None if now["value"] is None else now["value"] >= target.value}
        if kind in TARGET_METRICS:
            entry["target"]["to_target"] = to_target(kind, now, target=target.value, on="value", source="saved")
    return entry


def experience_line(success: float | None, effort: float | None, emotion: float | None) -> str:
    """The three components in one line, as a manager reads them: `success 82 %, effort 5.6, emotion 71 %
    positive` (`n/a` for a part below the minimum sample)."""

    def shown(value: float | None, pattern: str) -> str:
        return "n/a" if value is None else pattern.format(value)

    return (
        f"success {shown(success, '{:.0f} %')}, effort {shown(effort, '{:.1f}')}, "
        f"emotion {shown(emotion, '{:.0f} % positive')}"
    )


def _trend(rows: list[KindRow], last: dt.date, min_sample: int, anonymous: bool) -> list[dict[str, Any]]:
    """NPS per ISO week, the 12 weeks up to the current one (which is still running)."""
    weeks = [bucket_of(last, "week") - dt.timedelta(weeks=k) for k in reversed(range(TREND_WEEKS))]
    points = []
    for week in weeks:
        sample = _sample(rows, "nps", None, week, week + dt.timedelta(days=6))
        figures = figures_of("nps", sample, min_sample, anonymous=anonymous)
        points.append({"week": week, "value": figures["value"], "n": figures["n"]})
    return points


async def _responses(session: AsyncSession, scope: Scope, who: Filters, period: Period) -> int:
    """Finished responses with a scored answer in the period (from the response rollup's day rows)."""
    t = RESPONSE_TABLE.c
    query = select(func.sum(t.n)).where(
        t.org == scope.org, one_of(t.unit, scope.roots), t.grain == "d", t.day >= period.first, t.day <= period.last
    )
    return int((await session.exec(query.where(*who.population(RESPONSE_TABLE)))).one() or 0)


async def _top_reasons(
    session: AsyncSession, scope: Scope, who: Filters, period: Period, nps: list[int], min_sample: int
) -> list[dict[str, Any]]:
    """The reason codes most cited in the period (ties: alphabetical), from the reason rollup's day rows, with
    the NPS points each costs (`nps`: the period's NPS histogram of the same audience)."""
    t = REASON_TABLE.c
    count = func.sum(t.n).label("count")
    query = (
        select(t.code, count)
        .where(t.org == scope.org, one_of(t.unit, scope.roots), t.grain == "d", *who.population(REASON_TABLE))
        .where(t.day >= period.first, t.day <= period.last)
        .group_by(t.code)
        .having(count > 0)
        .order_by(count.desc(), t.code)
        .limit(TOP_REASONS)
    )
    top = [{"code": code, "count": int(n)} for code, n in (await session.exec(query)).all()]
    codes = [reason["code"] for reason in top]
    lost = await points_lost_by_code(
        session, scope=scope, who=who, period=period, codes=codes, total=nps, min_sample=min_sample
    )
    return [reason | {"points_lost": lost[reason["code"]]} for reason in top]


async def _figures(
    session: AsyncSession,
    scope: Scope,
    who: Filters,
    min_sample: int,
    rows: list[KindRow],
    periods: tuple[Period, Period],
) -> dict[str, Any]:
    """Responses, the three metrics with their targets, the NPS trend and the top reasons of the scorecard."""
    current, anonymous = periods[0], who.audience == "employees"
    targets: dict[str, Target] = {}
    if len(scope.roots) == 1:  # a target belongs to one scope: none for several units at once
        unit = scope.roots[0] or None
        targets = await active_targets(
            session, org=scope.org, metrics=TARGET_KINDS, unit=unit, filters=who, day=current.last
        )
    body: dict[str, Any] = {"responses": await _responses(session, scope, who, current)}
    for kind in KINDS:
        body[kind] = _metric(rows, kind, periods, min_sample, targets.get(kind), anonymous)
    body["experience"] = experience_line(body["success"]["value"], body["ces"]["value"], body["emotion"]["value"])
    body["trend"] = _trend(rows, current.last, min_sample, anonymous)
    nps = _sample(rows, "nps", None, current.first, current.last).counts
    body["top_reasons"] = await _top_reasons(session, scope, who, current, nps, min_sample)
    if anonymous and body["responses"] < min_sample:  # too few to show anything of them
        body["responses"], body["top_reasons"] = None, []
    return body


async def scorecard(
    *,
    session: AsyncSession,
    principal: Principal,
    unit: str | None,
    days: int,
    cases: CaseSource | None = None,
    audience: str = "customers",
) -> Scorecard:
    """The scorecard of a unit (or the org, or the token's units) over the last `days` days, today included,
    of one audience (follow-up answers left out). `cases` asks loop_api for the period's case figures, while
    the rollups are read; employees' scorecards have none (their answers open no customer cases)."""
    who = Filters(audience=audience)
    settings = await load_org_settings(session, table=OrgSettingsRow, model=MetricsOrgSettings, org=principal.org)
    zone = ZoneInfo(settings.timezone)
    scope = resolve_scope(principal, unit)
    last = today(zone)
    current = Period(first=last - dt.timedelta(days=days - 1), last=last, zone=zone)
    previous = current.previous()
    asked = asyncio.create_task(cases(current)) if cases is not None else None
    trend_first = bucket_of(last, "week") - dt.timedelta(weeks=TREND_WEEKS - 1)
    rows = await _kind_rows(session, scope, who, min(previous.first, trend_first), last)
    body: dict[str, Any] = {"unit": unit, "days": days, "audience": audience}
    body |= {"period": current.describe(), "previous_period": previous.describe()}
    body |= await _figures(session, scope, who, settings.min_sample, rows, (current, previous))
    if asked is not None:
        body["cases"] = await asked
        body["degraded"] = ["cases"] if body["cases"] is None else []
    return Scorecard.model_validate(body)
