"""A unit's scorecard shows the three components of an experience side by side: success, effort (CES) and
emotion (% positive), each with its interval, change and significance; expected numbers computed here."""

from __future__ import annotations

import math
from typing import Any

import httpx
import numpy as np
import pytest
from scipy.stats import norm
from scipy.stats import t as student_t

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest
from tests.metrics_api.events import days_ago, question, scored

SUCCESS = [question("success", "success")]
EMOTION = [question("feeling", "emotion", 1, 5)]
# this period: 40 yes, 2 partly, 8 no → 100·(40 + 0.5·2)/50 = 82 %; the 30 days before: 30 yes, 20 no → 60 %
NOW_SUCCESS, THEN_SUCCESS = ["yes"] * 40 + ["partly"] * 2 + ["no"] * 8, ["yes"] * 30 + ["no"] * 20
# 17 of 24 positive (4-5) → 70.8 %, shown 71 %; before: 10 of 24
NOW_EMOTION = [5] * 9 + [4] * 8 + [3] * 3 + [2] * 2 + [1] * 2
THEN_EMOTION = [5] * 4 + [4] * 6 + [3] * 4 + [2] * 5 + [1] * 5
EFFORT = [7, 6, 5, 5, 5]  # mean 5.6


async def seed(ingest: Ingest) -> None:
    now, then = {"unit": "emea/de", "submitted_at": days_ago(2)}, {"unit": "emea/de", "submitted_at": days_ago(40)}
    await ingest(scored(NOW_SUCCESS, key="success", questions=SUCCESS, **now))
    await ingest(scored(THEN_SUCCESS, key="success", questions=SUCCESS, **then))
    await ingest(scored(NOW_EMOTION, key="feeling", questions=EMOTION, **now))
    await ingest(scored(THEN_EMOTION, key="feeling", questions=EMOTION, **then))
    await ingest(scored(EFFORT, key="ces", **now))


def welch_p(first: np.ndarray, second: np.ndarray) -> float:
    a, b = first.var(ddof=1) / len(first), second.var(ddof=1) / len(second)
    df = (a + b) ** 2 / (a**2 / (len(first) - 1) + b**2 / (len(second) - 1))
    return float(2 * student_t.sf(abs(first.mean() - second.mean()) / math.sqrt(a + b), df))


async def test_success_effort_and_emotion_side_by_side(
    ingest: Ingest, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await seed(ingest)
    response = await metrics_client.get("/v1/scorecards/emea/de", headers=auth(scopes="metrics:read"))
    assert response.status_code == 200, response.text
    card: dict[str, Any] = response.json()
    assert card["experience"] == "success 82 %, effort 5.6, emotion 71 % positive"

    success = card["success"]
    now = np.array([{"yes": 1.0, "partly": 0.5, "no": 0.0}[s] for s in NOW_SUCCESS])
    then = np.array([{"yes": 1.0, "no": 0.0}[s] for s in THEN_SUCCESS])
    half = student_t.ppf(0.975, 49) * now.std(ddof=1) / math.sqrt(50)
    assert (success["value"], success["n"]) == (pytest.approx(82.0), 50)
    assert success["ci"]["low"] == pytest.approx(100 * (0.82 - half))
    assert success["ci"]["high"] == pytest.approx(100 * (0.82 + half))
    assert success["previous"] == {"value": pytest.approx(60.0), "n": 50}
    assert success["change"] == pytest.approx(22.0)
    assert success["p_value"] == pytest.approx(welch_p(now, then)) and success["significant"] is True

    effort = card["ces"]
    assert (effort["value"], effort["n"], effort["previous"]) == (pytest.approx(5.6), 5, {"value": None, "n": 0})
    assert (effort["change"], effort["significant"]) == (None, False)

    emotion = card["emotion"]
    p_now, p_then, z = 17 / 24, 10 / 24, 1.96
    center = (p_now + z * z / 48) / (1 + z * z / 24)
    spread = z * math.sqrt(p_now * (1 - p_now) / 24 + z * z / (4 * 24 * 24)) / (1 + z * z / 24)
    assert (emotion["value"], emotion["n"]) == (pytest.approx(100 * p_now), 24)
    assert emotion["ci"]["low"] == pytest.approx(100 * (center - spread))
    assert emotion["ci"]["high"] == pytest.approx(100 * (center + spread))
    assert emotion["mean"] == pytest.approx(np.mean(NOW_EMOTION))
    assert emotion["change"] == pytest.approx(100 * (p_now - p_then))
    pooled = 27 / 48
    p_value = 2 * norm.sf(abs(p_now - p_then) / math.sqrt(pooled * (1 - pooled) * (2 / 24)))
    assert emotion["p_value"] == pytest.approx(p_value) and p_value < 0.05 and emotion["significant"] is True


async def test_a_component_below_the_minimum_sample_is_a_dash(
    ingest: Ingest, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await ingest(scored(["yes", "no"], key="success", questions=SUCCESS, unit="emea/de"))
    await ingest(scored(EFFORT, key="ces", unit="emea/de"))
    response = await metrics_client.get("/v1/scorecards/emea/de", headers=auth(scopes="metrics:read"))
    card = response.json()
    assert card["experience"] == "success n/a, effort 5.6, emotion n/a"
    assert (card["success"]["value"], card["success"]["n"]) == (None, 2)
    assert (card["emotion"]["value"], card["emotion"]["n"]) == (None, 0)
