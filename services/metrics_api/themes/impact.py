"""`GET /v1/metrics/themes` and `GET /v1/metrics/sentiment`: what each theme costs the NPS, and the sentiment mix.

Theme impact is reason impact (DESIGN §4) over themes: n is the responses in scope with an NPS score (the
question rollup), each theme's NPS histogram comes from the theme rollup, and `impact` of reason_impact does the
arithmetic. Both come from rollups unless a filter needs the facts (then aggregates over the comment facts).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.inference import wilson
from services.metrics_api.insight import Ask, resolve_ask
from services.metrics_api.metrics import MetricRequest
from services.metrics_api.models import HISTOGRAM_COLUMNS, SCORES
from services.metrics_api.queries import Split, _fact_filters, _facts_period, _rollup_period, needs_facts
from services.metrics_api.queries import plan_for_values as _plan
from services.metrics_api.reason_impact import impact, nps_fact_filters, survey_nps_rollup
from services.metrics_api.rollups import FACTS, histogram_sums
from services.metrics_api.sql import one_of
from services.metrics_api.themes.codebook import labels
from services.metrics_api.themes.facts import ALL_COMMENTS, COMMENTS, SENTIMENTS, TAGS, THEME_ROLLUP
from shared.auth import Principal
from shared.errors import invalid

Counts = list[int]  # h0..h10, comments, positive, neutral, negative, unscored
EXTRA = ("comments", *SENTIMENTS, "unscored")


async def _rollup_counts(session: AsyncSession, ask: Ask, question: str) -> tuple[Counts, dict[str, Counts]]:
    """The scope's NPS histogram of the survey, and each code's counts ("": every comment), from rollups."""
    t = THEME_ROLLUP.c
    total = survey_nps_rollup(ask)
    by_code = (
        select(t.code, *(func.sum(t[c]) for c in (*HISTOGRAM_COLUMNS, *EXTRA)))
        .where(t.org == ask.scope.org, one_of(t.unit, ask.scope.roots), t.survey_id == ask.filters.survey_id)
        .where(t.question == question, _rollup_period(THEME_ROLLUP, ask.period, None))
        .where(*ask.filters.population(THEME_ROLLUP))
        .group_by(t.code)
    )
    counts = (await session.exec(total)).one()
    codes = {code: [int(c) for c in rest] for code, *rest in (await session.exec(by_code)).all()}
    return [int(c or 0) for c in counts], codes


def _comment_sums() -> list[Any]:
    """Per comment group: its NPS histogram, comments, and each sentiment's count."""
    c = COMMENTS.c
    nps = [func.sum(case((c.nps == s, 1), else_=0)) for s in SCORES]
    feelings = [func.sum(case((c.sentiment == s, 1), else_=0)) for s in SENTIMENTS]
    return [*nps, func.count(), *feelings, func.sum(case((c.sentiment.is_(None), 1), else_=0))]


async def _fact_counts(session: AsyncSession, ask: Ask, question: str) -> tuple[Counts, dict[str, Counts]]:
    """The same from the facts: the NPS facts in scope, and the comment facts (joined to their tags)."""
    where = nps_fact_filters(ask)
    await _plan(session)
    total = [int(c or 0) for c in (await session.exec(select(*histogram_sums(FACTS)).where(*where))).one()]
    said = [
        *_fact_filters(COMMENTS, ask.scope, ask.filters),
        *_facts_period(COMMENTS, ask.period, "day", "submitted_at"),
    ]
    said += [COMMENTS.c.survey_id == ask.filters.survey_id, COMMENTS.c.question == question]
    said += ask.filters.population(COMMENTS)
    everything = (await session.exec(select(*_comment_sums()).where(*said))).one()
    codes = {ALL_COMMENTS: [int(c or 0) for c in everything]}
    joined = TAGS.join(
        COMMENTS, (TAGS.c.response_id == COMMENTS.c.response_id) & (TAGS.c.question == COMMENTS.c.question)
    )
    by_code = select(TAGS.c.code, *_comment_sums()).select_from(joined).where(*said).group_by(TAGS.c.code)
    codes |= {code: [int(c) for c in rest] for code, *rest in (await session.exec(by_code)).all()}
    return total, codes


async def _read(
    session: AsyncSession, principal: Principal, request: MetricRequest
) -> tuple[Ask, str, dict[str, Any], Counts, dict[str, Counts]]:
    question = request.filters.question
    if question is None:
        raise invalid("question", "name the text question to analyse", "required")
    ask = await resolve_ask(session=session, principal=principal, request=request)
    from_facts = needs_facts(ask.filters, Split(), ask.period)
    total, codes = await (_fact_counts if from_facts else _rollup_counts)(session, ask, question)
    head: dict[str, Any] = {"survey_id": ask.filters.survey_id, "question": question, "unit": ask.unit}
    head |= {"period": ask.period.describe(), "min_sample": ask.min_sample, "audience": ask.filters.audience}
    head["source"] = "facts" if from_facts else "rollups"
    return ask, question, head, total, codes


def _sentiment(counts: Counts, hidden: bool) -> dict[str, int | None]:
    values = dict(zip(EXTRA[1:], counts[12:], strict=True))
    return dict.fromkeys(values) if hidden else dict(values)


async def themes_answer(*, session: AsyncSession, principal: Principal, request: MetricRequest) -> dict[str, Any]:
    """The answer of `GET /v1/metrics/themes` (see `schemas.ThemesAnswer`)."""
    ask, _, head, total, codes = await _read(session, principal, request)
    anonymous = ask.filters.audience == "employees"
    everything = codes.pop(ALL_COMMENTS, [0] * 16)
    answer = impact(total, {code: c[:11] for code, c in codes.items()}, ask.min_sample, anonymous=anonymous)
    named = await labels(session, principal.org)
    all_comments = everything[11]
    hide_all = anonymous and all_comments < ask.min_sample
    for item in answer["items"]:
        counts = codes[item["code"]]
        hidden = item["count"] is None or (anonymous and counts[11] < ask.min_sample)
        item["label"] = named.get(item["code"])
        item["comments"] = None if hidden else counts[11]
        share = 100.0 * counts[11] / all_comments if all_comments else None
        item["comment_share_pct"] = None if hidden else share
        item["sentiment"] = _sentiment(counts, hidden)
    return head | answer | {"comments": None if hide_all else all_comments}


def _share(count: int, scored: int, min_sample: int, hidden: bool) -> dict[str, Any]:
    if hidden:
        return {"count": None, "pct": None, "ci": None}
    if scored < max(min_sample, 1):
        return {"count": count, "pct": None, "ci": None}
    low, high = wilson(count, scored)
    return {"count": count, "pct": 100.0 * count / scored, "ci": {"low": 100 * low, "high": 100 * high, "level": 0.95}}


async def sentiment_answer(*, session: AsyncSession, principal: Principal, request: MetricRequest) -> dict[str, Any]:
    """The answer of `GET /v1/metrics/sentiment` (see `schemas.SentimentAnswer`)."""
    ask, _, head, _, codes = await _read(session, principal, request)
    counts = codes.get(ALL_COMMENTS, [0] * 16)
    comments, positive, neutral, negative, unscored = counts[11:]
    scored = positive + neutral + negative
    hidden = ask.filters.audience == "employees" and comments < ask.min_sample
    answer = head | {"comments": comments, "scored": scored, "unscored": unscored}
    if hidden:
        answer |= dict.fromkeys(("comments", "scored", "unscored"))
    for name, count in zip(SENTIMENTS, (positive, neutral, negative), strict=True):
        answer[name] = _share(count, scored, ask.min_sample, hidden)
    return answer
