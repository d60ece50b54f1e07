"""`GET /v1/reasons`: reason impact (NPS+) — what each cited reason costs the NPS (DESIGN §4).

Over the n answers with an NPS score in scope: for each code cited `count` times, share = 100·count/n, NPS of
those citing it (`nps_with`) and of all the others (`nps_without`, the total's histogram minus theirs), and
`points_lost = (count/n)·(nps_without - nps_with)`. Both histograms come from rollups (the question rollup and
the reason x NPS score rollup) unless a filter needs the facts; then two aggregates over the facts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.insight import Ask, resolve_ask
from services.metrics_api.metrics import MetricRequest
from services.metrics_api.models import HISTOGRAM_COLUMNS
from services.metrics_api.period import Period
from services.metrics_api.queries import (
    Filters,
    Scope,
    Split,
    _fact_filters,
    _facts_period,
    _rollup_period,
    needs_facts,
    plan_for_values,
)
from services.metrics_api.rollups import FACTS, QUESTION_TABLE, REASON_FACTS, REASON_SCORE_TABLE, histogram_sums
from services.metrics_api.sql import one_of
from shared.auth import Principal
from shared.errors import invalid

Z95 = 1.959963984540054
Histogram = list[int]


def nps_of(h: Sequence[int]) -> tuple[float, float, int]:
    """NPS and its standard error (DESIGN §4) of a 0..10 histogram, and its n (NaNs when n is 0)."""
    n = sum(h)
    if n == 0:
        return math.nan, math.nan, 0
    p, d = (h[9] + h[10]) / n, sum(h[:7]) / n
    return 100.0 * (p - d), 100.0 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n), n


def _item(code: str, cited: Histogram, total: Histogram, min_sample: int) -> dict[str, Any]:
    """One code's count, share, NPS with and without it, points lost and that figure's 95 % interval."""
    others = [a - b for a, b in zip(total, cited, strict=True)]
    (with_, se_with, count), (without, se_without, rest) = nps_of(cited), nps_of(others)
    n = count + rest
    item: dict[str, Any] = {"code": code, "count": count, "share_pct": 100.0 * count / n if n else 0.0}
    item |= {"nps_with": None, "nps_without": None, "points_lost": None, "points_lost_ci": None}
    if count >= max(min_sample, 1):
        item["nps_with"] = with_
    if rest >= max(min_sample, 1):
        item["nps_without"] = without
    if item["nps_with"] is not None and item["nps_without"] is not None:
        share, half = count / n, Z95 * math.hypot(se_with, se_without)
        lost = share * (without - with_)
        item["points_lost"] = lost
        item["points_lost_ci"] = {"low": lost - share * half, "high": lost + share * half, "level": 0.95}
    return item


def impact(
    total: Histogram, by_code: dict[str, Histogram], min_sample: int, *, anonymous: bool = False
) -> dict[str, Any]:
    """`{n, nps, items}` of reason impact from the NPS histogram in scope and each code's (most lost first).

    `anonymous` (employees): nothing of a code cited by fewer than the minimum sample, or by all but fewer (its
    figures beside the total's would give the small group's back) — and nothing at all when the scope has fewer."""
    nps, _, n = nps_of(total)
    items = [_item(code, cited, total, min_sample) for code, cited in by_code.items() if sum(cited) > 0]
    if anonymous and n < min_sample:
        return {"n": None, "nps": None, "items": []}
    if anonymous:
        for item in items:
            if min(item["count"], n - item["count"]) < min_sample:
                item |= dict.fromkeys(("count", "share_pct", "nps_with", "nps_without", "points_lost"))
                item["points_lost_ci"] = None
    items.sort(key=lambda i: (i["points_lost"] is None, -(i["points_lost"] or 0.0), -(i["count"] or 0), i["code"]))
    return {"n": n, "nps": nps if n >= max(min_sample, 1) else None, "items": items}


def survey_nps_rollup(ask: Ask) -> Any:
    """SQL: the scope's NPS histogram of the survey over the period, from the question rollup."""
    q = QUESTION_TABLE.c
    return (
        select(*(func.sum(q[c]) for c in HISTOGRAM_COLUMNS))
        .where(q.org == ask.scope.org, one_of(q.unit, ask.scope.roots), q.survey_id == ask.filters.survey_id)
        .where(q.kind == "nps", _rollup_period(QUESTION_TABLE, ask.period, None))
        .where(*ask.filters.population(QUESTION_TABLE))
    )


def nps_fact_filters(ask: Ask) -> list[Any]:
    """SQL conditions: the NPS facts in the scope, period and population asked."""
    where = [*_fact_filters(FACTS, ask.scope, ask.filters), *_facts_period(FACTS, ask.period, "day", "submitted_at")]
    return [*where, FACTS.c.kind == "nps", *ask.filters.population(FACTS)]


async def _rollup_histograms(session: AsyncSession, ask: Ask, question: str) -> tuple[Histogram, dict[str, Histogram]]:
    """The scope's NPS histogram of the survey (question rollup) and each code's (reason x score rollup)."""
    r = REASON_SCORE_TABLE.c
    total = survey_nps_rollup(ask)
    by_code = (
        select(r.code, *(func.sum(r[c]) for c in HISTOGRAM_COLUMNS))
        .where(r.org == ask.scope.org, one_of(r.unit, ask.scope.roots), r.survey_id == ask.filters.survey_id)
        .where(r.question == question, _rollup_period(REASON_SCORE_TABLE, ask.period, None))
        .where(*ask.filters.population(REASON_SCORE_TABLE))
        .group_by(r.code)
    )
    counts = (await session.exec(total)).one()
    codes = {code: [int(c) for c in h] for code, *h in (await session.exec(by_code)).all()}
    return [int(c or 0) for c in counts], codes


async def _fact_histograms(session: AsyncSession, ask: Ask, question: str) -> tuple[Histogram, dict[str, Histogram]]:
    """The same two histograms from the facts (filters the rollups do not keep): the NPS facts in scope, and
    those joined to the reason facts of their response."""
    where = nps_fact_filters(ask)
    await plan_for_values(session)
    counts = (await session.exec(select(*histogram_sums(FACTS)).where(*where))).one()
    cited = REASON_FACTS.join(FACTS, FACTS.c.response_id == REASON_FACTS.c.response_id)
    by_code = (
        select(REASON_FACTS.c.code, *histogram_sums(FACTS))
        .select_from(cited)
        .where(*where, REASON_FACTS.c.question == question)
        .group_by(REASON_FACTS.c.code)
    )
    codes = {code: [int(c) for c in h] for code, *h in (await session.exec(by_code)).all()}
    return [int(c or 0) for c in counts], codes


async def reasons_answer(*, session: AsyncSession, principal: Principal, request: MetricRequest) -> dict[str, Any]:
    """The answer of `GET /v1/reasons` (see `schemas.insight.ReasonsAnswer`)."""
    question = request.filters.question
    if question is None:
        raise invalid("question", "name the reasons question to analyse", "required")
    ask = await resolve_ask(session=session, principal=principal, request=request)
    from_facts = needs_facts(ask.filters, Split(), ask.period)
    read = _fact_histograms if from_facts else _rollup_histograms
    total, by_code = await read(session, ask, question)
    head: dict[str, Any] = {"survey_id": ask.filters.survey_id, "question": question, "unit": ask.unit}
    head |= {"period": ask.period.describe(), "min_sample": ask.min_sample}
    head |= {"source": "facts" if from_facts else "rollups", "audience": ask.filters.audience}
    anonymous = ask.filters.audience == "employees"
    return head | impact(total, by_code, ask.min_sample, anonymous=anonymous)


async def points_lost_by_code(
    session: AsyncSession,
    *,
    scope: Scope,
    who: Filters,
    period: Period,
    codes: Sequence[str],
    total: Histogram,
    min_sample: int,
) -> dict[str, float | None]:
    """`points_lost` of each code over every survey in scope (the scorecard's top reasons) among the answers of
    `who` (its audience, follow-ups left out), from the rollup."""
    r = REASON_SCORE_TABLE.c
    query = (
        select(r.code, *(func.sum(r[c]) for c in HISTOGRAM_COLUMNS))
        .where(r.org == scope.org, one_of(r.unit, scope.roots), one_of(r.code, list(codes)))
        .where(_rollup_period(REASON_SCORE_TABLE, period, None), *who.population(REASON_SCORE_TABLE))
        .group_by(r.code)
    )
    cited = {code: [int(c) for c in h] for code, *h in (await session.exec(query)).all()}
    return {code: _item(code, cited.get(code, [0] * 11), total, min_sample)["points_lost"] for code in codes}
