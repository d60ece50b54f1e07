"""`/v1/metrics/success` and `/v1/metrics/emotion` against known vectors computed here with numpy (success with
partly weighted 0.5, 0 and 1; emotion's mean, positive and negative shares), below the minimum sample, groups,
comparison with the previous period and `to_target`."""

from __future__ import annotations

import math
from typing import Any

import httpx
import numpy as np
import pytest
from scipy.stats import t as student_t

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import days_ago, question, response_event

QUESTIONS = [question("success", "success"), question("feeling", "emotion", 1, 5)]
# 6 yes, 3 partly, 1 no: success 75 % with partly = 0.5, 60 % with 0, 90 % with 1
SUCCESS = ["yes"] * 6 + ["partly"] * 3 + ["no"]
# 7 positive (4-5), 2 negative (1-2), 1 neutral; mean 3.8
EMOTION = [5, 5, 4, 4, 4, 3, 2, 1, 5, 5]


def events(success: list[str], emotion: list[int], **options: Any) -> list[Any]:
    """One response per pair of answers (success and emotion)."""
    return [
        response_event({"success": s, "feeling": e}, questions=QUESTIONS, **options)
        for s, e in zip(success, emotion, strict=True)
    ]


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval in percent, written out from its textbook formula."""
    p = successes / n
    center = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * (center - half), 100 * (center + half)


def t_interval(values: np.ndarray) -> tuple[float, float]:
    """The 95 % t interval of a mean (numpy and scipy's quantile)."""
    half = student_t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


def interval(low: float, high: float) -> dict[str, Any]:
    return {"low": pytest.approx(low), "high": pytest.approx(high), "level": 0.95}


async def test_success_rate_with_partly_at_half(ingest: Ingest, read: Read) -> None:
    await ingest(events(SUCCESS, EMOTION))
    answer = await read("success")
    scores = np.array([{"yes": 1.0, "partly": 0.5, "no": 0.0}[s] for s in SUCCESS])
    assert (answer["metric"], answer["n"], answer["value"]) == ("success", 10, pytest.approx(75.0))
    assert (answer["yes"], answer["partly"], answer["no"]) == (6, 3, 1)
    assert (answer["yes_pct"], answer["partly_pct"], answer["no_pct"]) == (60.0, 30.0, 10.0)
    low, high = t_interval(scores)  # 49.7 .. 100.3: a percentage's interval is clipped to 0..100
    assert answer["ci"] == interval(100 * low, 100.0) and high > 1
    assert (answer["partly_weight"], answer["interval_method"]) == (0.5, "t")


@pytest.mark.parametrize(("weight", "value", "hits"), [(0, 60.0, 6), (1, 90.0, 9)])
async def test_success_rate_with_partly_as_no_or_yes_has_a_wilson_interval(
    ingest: Ingest, read: Read, weight: int, value: float, hits: int
) -> None:
    await ingest(events(SUCCESS, EMOTION))
    answer = await read("success", partly_weight=weight)
    assert answer["value"] == pytest.approx(value)
    assert answer["ci"] == interval(*wilson(hits, 10))
    assert (answer["partly_weight"], answer["interval_method"]) == (weight, "wilson")


async def test_success_rate_with_another_weight(ingest: Ingest, read: Read) -> None:
    await ingest(events(SUCCESS, EMOTION))
    answer = await read("success", partly_weight=0.25)
    scores = np.array([{"yes": 1.0, "partly": 0.25, "no": 0.0}[s] for s in SUCCESS])
    assert answer["value"] == pytest.approx(100 * scores.mean()) == pytest.approx(67.5)
    low, high = t_interval(scores)
    assert answer["ci"] == interval(100 * low, min(100.0, 100 * high))


async def test_emotion_mean_positive_negative_and_histogram(ingest: Ingest, read: Read) -> None:
    await ingest(events(SUCCESS, EMOTION))
    answer = await read("emotion")
    values = np.array(EMOTION, dtype=float)
    assert (answer["metric"], answer["n"]) == ("emotion", 10)
    assert answer["value"] == answer["mean"] == pytest.approx(values.mean()) == pytest.approx(3.8)
    assert answer["ci"] == interval(*t_interval(values))
    assert (answer["positive"], answer["positive_pct"]) == (7, pytest.approx(70.0))
    assert (answer["negative"], answer["negative_pct"]) == (2, pytest.approx(20.0))
    assert answer["histogram"] == {"1": 1, "2": 1, "3": 1, "4": 3, "5": 4}
    assert (answer["scale_min"], answer["scale_max"]) == (1, 5)


async def test_below_the_minimum_sample_both_are_null_with_the_reason(ingest: Ingest, read: Read) -> None:
    await ingest(events(["yes", "no", "partly", "yes"], [5, 1, 3, 4]))
    success, emotion = await read("success"), await read("emotion")
    assert (success["value"], success["ci"], success["n"], success["reason"]) == (None, None, 4, "below_min_sample")
    assert (success["yes"], success["partly"], success["no"], success["yes_pct"]) == (2, 1, 1, None)
    assert (emotion["value"], emotion["ci"], emotion["n"], emotion["reason"]) == (None, None, 4, "below_min_sample")
    assert (emotion["positive_pct"], emotion["histogram"]) == (None, {"1": 1, "2": 0, "3": 1, "4": 1, "5": 1})


async def test_groups_and_the_previous_period(ingest: Ingest, read: Read) -> None:
    await ingest(events(SUCCESS, EMOTION, unit="emea/berlin", submitted_at=days_ago(2)))
    await ingest(events(["no"] * 5 + ["partly"] * 5, [1, 2, 2, 1, 3, 1, 2, 3, 1, 2], unit="emea/paris"))
    before = ["yes"] * 2 + ["no"] * 8
    await ingest(events(before, [1] * 10, unit="emea/paris", submitted_at=days_ago(40)))
    grouped = await read("success", unit="emea", group_by="unit", **{"from": days_ago(30).date().isoformat()})
    groups = {g["key"]: g for g in grouped["groups"]}
    assert (groups["emea/berlin"]["value"], groups["emea/paris"]["value"]) == (75.0, 25.0)
    assert grouped["n"] == 20 and grouped["value"] == pytest.approx(50.0)
    compared = await read("success", unit="emea/paris", compare="previous", **{"from": days_ago(30).date().isoformat()})
    # previous 30 days: 2 yes of 10 = 20 %; now 25 %; Welch's t test of the per-response scores 1 / 0.5 / 0
    now, then = np.array([0.0] * 5 + [0.5] * 5), np.array([1.0] * 2 + [0.0] * 8)
    assert compared["previous"] == {"value": pytest.approx(20.0), "n": 10}
    assert compared["change"] == pytest.approx(5.0)
    se = math.sqrt(now.var(ddof=1) / 10 + then.var(ddof=1) / 10)
    df = se**4 / ((now.var(ddof=1) / 10) ** 2 / 9 + (then.var(ddof=1) / 10) ** 2 / 9)
    p = 2 * student_t.sf(abs(now.mean() - then.mean()) / se, df)
    assert compared["p_value"] == pytest.approx(p) and compared["significant"] is False
    emotion = await read("emotion", unit="emea", group_by="unit", **{"from": days_ago(30).date().isoformat()})
    feelings = {g["key"]: (g["mean"], g["positive_pct"], g["negative_pct"]) for g in emotion["groups"]}
    assert feelings == {"emea/berlin": (3.8, 70.0, 20.0), "emea/paris": (1.8, 0.0, 80.0)}


@pytest.mark.parametrize(
    ("target", "met", "expected"),
    [
        # value 7.5 of 10 answers; gap = T·n/100 - 7.5: 0.5 → one no→yes, one partly→yes (0.5 each), one no→partly
        (80, False, {"no>yes": 1, "partly>yes": 1, "no>partly": 1}),
        # gap 1.5: two no→yes but only one no; three partly→yes; three no→partly but only one no
        (90, False, {"no>yes": None, "partly>yes": 3, "no>partly": None}),
        (75, True, {"no>yes": 0, "partly>yes": 0, "no>partly": 0}),
    ],
)
async def test_success_to_target(ingest: Ingest, read: Read, target: float, met: bool, expected: Any) -> None:
    await ingest(events(SUCCESS, EMOTION))
    answer = await read("success", target=target)
    moves = {f"{m['from']}>{m['to']}": m["count"] for m in answer["to_target"]["moves"]}
    assert (answer["to_target"]["met"], moves) == (met, expected)


async def test_emotion_to_target_is_a_mean(ingest: Ingest, read: Read) -> None:
    await ingest(events(SUCCESS, EMOTION))
    answer = await read("emotion", target=4.2)
    # Σ = 38 over 10 answers; a mean of 4.2 needs 4 more points: four 4→5, or one 1→5
    moves = {f"{m['from']}>{m['to']}": m["count"] for m in answer["to_target"]["moves"]}
    assert moves == {"4>5": None, "1>5": 1}


async def test_a_success_question_is_not_read_as_emotion(
    ingest: Ingest, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await ingest(events(SUCCESS, EMOTION))
    response = await metrics_client.get("/v1/metrics/emotion", params={"question": "success"}, headers=auth())
    assert response.status_code == 422 and response.json()["errors"][0]["code"] == "other_kind"
    weight = await metrics_client.get("/v1/metrics/success", params={"partly_weight": 2}, headers=auth())
    assert weight.status_code == 422
