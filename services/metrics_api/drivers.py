"""`GET /v1/drivers`: which rated attributes of a survey move its outcome (NPS, or a CSAT, CES, rating, success or
emotion score) most. Success answers count as their stored scores no 0, partly 1, yes 2; emotion as 1-5.

The survey's questions and scales come from the question rollup; the per-response score vectors from the facts
in one SQL query (one conditional aggregate per question, grouped by response); everything else is numpy.
Johnson's relative weights need n ≥ 50 + 8·m (m attributes); below that only correlations are reported.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import case, func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.insight import Ask, resolve_ask
from services.metrics_api.metrics import MetricRequest
from services.metrics_api.queries import _fact_filters, _facts_period, _rollup_period, plan_for_values
from services.metrics_api.relative_weights import (
    RESAMPLES,
    Scores,
    bootstrap_percent,
    percentile_interval,
    relative_weights,
)
from services.metrics_api.rollups import FACTS, QUESTION_TABLE
from services.metrics_api.sql import one_of
from shared.auth import Principal
from shared.errors import invalid

ATTRIBUTE_KINDS = ("rating", "csat", "ces", "success", "emotion")
KIND_OUTCOMES = ("nps", "success", "emotion")  # `outcome=<kind>`: the survey's most answered question of it
OUTCOME_KINDS = ("nps", *ATTRIBUTE_KINDS)
LEVEL = 0.95


@dataclass(frozen=True)
class Question:
    """A scored question of the survey: its key, kind, top of scale, and answers in the scope's rollups."""

    key: str
    kind: str
    scale_max: int
    answers: int


def min_n(m: int) -> int:
    """The fewest complete responses relative weights of m attributes need (Johnson's rule of thumb)."""
    return 50 + 8 * m


async def _questions(session: AsyncSession, ask: Ask) -> list[Question]:
    """The survey's scored questions answered in the scope and period, most answered first (rollup rows)."""
    t = QUESTION_TABLE.c
    answers = func.sum(t.n)
    query = (
        select(t.question, t.kind, func.max(t.scale_max), answers)
        .where(t.org == ask.scope.org, one_of(t.unit, ask.scope.roots), t.survey_id == ask.filters.survey_id)
        .where(one_of(t.kind, OUTCOME_KINDS), _rollup_period(QUESTION_TABLE, ask.period, None))
        .where(*ask.filters.population(QUESTION_TABLE))
        .group_by(t.question, t.kind)
        .having(answers > 0)
    )
    found = [Question(key, kind, int(high), int(n)) for key, kind, high, n in (await session.exec(query)).all()]
    return sorted(found, key=lambda q: (-q.answers, q.key))


def _pick(outcome: str, questions: list[Question]) -> tuple[Question, list[Question]]:
    """The outcome question (`nps`: the survey's most answered NPS question) and the attributes (422 if none)."""
    chosen = next((q for q in questions if q.key == outcome), None)
    if outcome in KIND_OUTCOMES and (outcome == "nps" or chosen is None):
        chosen = next((q for q in questions if q.kind == outcome), None)
    if chosen is None:
        raise invalid("outcome", f"no {outcome!r} answers of this survey in scope", "unknown_outcome")
    attributes = [q for q in questions if q.kind in ATTRIBUTE_KINDS and q.key != chosen.key]
    attributes.sort(key=lambda q: q.key)
    if not attributes:
        message = "the survey has no rated (rating, CSAT, CES, success, emotion) answers in scope"
        raise invalid("outcome", message, "no_attributes")
    return chosen, attributes


async def _score_vectors(session: AsyncSession, ask: Ask, keys: list[str]) -> Scores:
    """The distinct score vectors of the responses in scope (one column per key, NaN: not answered) and how many
    responses gave each: one query, the per-response pivot counted by vector (scores are a few small integers,
    so a million responses become far fewer rows)."""
    where = [*_fact_filters(FACTS, ask.scope, ask.filters), *_facts_period(FACTS, ask.period, "day", "submitted_at")]
    where += [one_of(FACTS.c.question, keys), *ask.filters.population(FACTS)]
    columns = [func.max(case((FACTS.c.question == key, FACTS.c.score))).label(f"s{i}") for i, key in enumerate(keys)]
    pivot = select(*columns).where(*where).group_by(FACTS.c.response_id).subquery()
    vectors = [pivot.c[f"s{i}"] for i in range(len(keys))]
    await plan_for_values(session)
    counted: list[Any] = [*vectors, func.count()]
    rows = (await session.exec(select(*counted).group_by(*vectors))).all()
    table = np.array(rows, dtype=np.float64).reshape(-1, len(keys) + 1)
    return Scores(table[:, :-1], table[:, -1])


def _quadrant(importance: float | None, mean_importance: float, top2: float, mean_top2: float) -> str | None:
    if importance is None:
        return None
    important, strong = importance >= mean_importance, top2 >= mean_top2
    if important:
        return "maintain" if strong else "fix"
    return "overinvested" if strong else "secondary"


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _described(attributes: list[Question], scores: Scores) -> list[dict[str, Any]]:
    """Per attribute: key, kind, correlation with the outcome, mean and top-2-box % over the complete rows."""
    correlations, means = scores.corr()[:-1, -1], scores.mean()
    drivers = []
    for j, question in enumerate(attributes):
        # success has three points: its "top box" is `yes` alone, not yes and partly
        top = question.scale_max if question.kind == "success" else question.scale_max - 1
        top2 = 100.0 * float(scores.counts @ (scores.values[:, j] >= top)) / scores.n
        item = {"question": question.key, "kind": question.kind, "correlation": _number(correlations[j])}
        item |= {"weight_pct": None, "weight_ci": None, "overlaps_next": None}
        drivers.append(item | {"mean": float(means[j]), "top2_pct": top2})
    return drivers


def _weigh(drivers: list[dict[str, Any]], scores: Scores) -> float:
    """Add weight_pct, its bootstrap interval and the overlap flag to the drivers; R² of the fit."""
    spread = scores.std()
    varied = [j for j in range(len(drivers)) if spread[j] > 0]
    subset = scores.columns([*varied, len(drivers)])
    weights = relative_weights(subset)
    low, high = percentile_interval(bootstrap_percent(subset), LEVEL)
    for driver in drivers:  # a constant attribute explains nothing
        driver |= {"weight_pct": 0.0, "weight_ci": None}
    for i, j in enumerate(varied):
        interval = {"low": _number(low[i]), "high": _number(high[i]), "level": LEVEL}
        drivers[j] |= {"weight_pct": float(weights.percent[i]), "weight_ci": interval}
    drivers.sort(key=lambda d: (-d["weight_pct"], d["question"]))
    for this, following in itertools.pairwise(drivers):
        this["overlaps_next"] = _overlap(this["weight_ci"], following["weight_ci"])
    if drivers:
        drivers[-1]["overlaps_next"] = False
    return weights.r2


def _overlap(first: dict[str, Any] | None, second: dict[str, Any] | None) -> bool:
    if first is None or second is None or first["low"] is None or second["high"] is None:
        return True
    return bool(first["low"] <= second["high"])


def _classify(drivers: list[dict[str, Any]], by: str) -> None:
    """Put each driver in its quadrant: importance (`by`) and top-2-box against their means over the drivers."""
    measured = [d[by] for d in drivers if d[by] is not None]
    mean_importance = float(np.mean(measured)) if measured else 0.0
    mean_top2 = float(np.mean([d["top2_pct"] for d in drivers]))
    for driver in drivers:
        driver["quadrant"] = _quadrant(driver[by], mean_importance, driver["top2_pct"], mean_top2)


def _figures(attributes: list[Question], scores: Scores, min_sample: int) -> dict[str, Any]:
    """The method, n, R² and drivers of the complete score vectors."""
    n, m = scores.n, len(attributes)
    answer: dict[str, Any] = {"n": n, "min_n": min_n(m), "r2": None, "resamples": None, "drivers": []}
    if n < max(min_sample, 3):
        return answer | {"method": "correlation", "reason": "below_min_sample"}
    if scores.std()[-1] == 0:
        return answer | {"method": "correlation", "reason": "outcome_constant"}
    drivers = _described(attributes, scores)
    if n < min_n(m):
        reason = f"n = {n} is below 50 + 8·m = {min_n(m)} for m = {m} attributes: correlations only"
        drivers.sort(key=lambda d: (d["correlation"] is None, -abs(d["correlation"] or 0.0), d["question"]))
        _classify(drivers, "correlation")
        return answer | {"method": "correlation", "reason": reason, "drivers": drivers}
    r2 = _weigh(drivers, scores)
    _classify(drivers, "weight_pct")
    return answer | {"method": "relative_weights", "r2": r2, "resamples": RESAMPLES, "drivers": drivers}


async def drivers_answer(
    *, session: AsyncSession, principal: Principal, outcome: str, request: MetricRequest
) -> dict[str, Any]:
    """The answer of `GET /v1/drivers` (see `schemas.insight.DriversAnswer`)."""
    ask = await resolve_ask(session=session, principal=principal, request=request)
    outcome_question, attributes = _pick(outcome, await _questions(session, ask))
    found = await _score_vectors(session, ask, [q.key for q in attributes] + [outcome_question.key])
    # attributes nobody in the filtered scope answered drop out
    answered: list[bool] = np.asarray(~np.isnan(found.values[:, :-1]).all(axis=0)).tolist()
    attributes = [q for q, keep in zip(attributes, answered, strict=True) if keep]
    if not attributes:
        raise invalid("outcome", "no rated attribute was answered in this scope", "no_attributes")
    kept = found.columns([*np.flatnonzero(answered).tolist(), len(answered)])
    complete = ~np.isnan(kept.values).any(axis=1)
    scores = Scores(kept.values[complete], kept.counts[complete])
    head: dict[str, Any] = {
        "outcome": outcome,
        "outcome_question": outcome_question.key,
        "survey_id": ask.filters.survey_id,
    }
    head |= {"unit": ask.unit, "period": ask.period.describe(), "min_sample": ask.min_sample}
    head["audience"] = ask.filters.audience
    return head | _figures(attributes, scores, ask.min_sample)
