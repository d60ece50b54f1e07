"""`GET /v1/drivers` with emotion as the outcome and success among the attributes (stored as no 0, partly 1,
yes 2), against the relative weights written out in tests/metrics_api/test_drivers.py."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest
from tests.metrics_api.events import question, response_event
from tests.metrics_api.test_drivers import johnson, ols_r2

QUESTIONS = [
    question("success", "success"),
    question("staff", "rating", 1, 5),
    question("ease", "ces", 1, 7),
    question("feeling", "emotion", 1, 5),
]
ATTRIBUTES = ("ease", "staff", "success")  # the order of the columns below
CODES = {0: "no", 1: "partly", 2: "yes"}


def planted(n: int, seed: int) -> npt.NDArray[np.int64]:
    """n rows of (ease, staff, success 0/1/2, feeling): feeling driven mostly by success, then by staff."""
    rng = np.random.default_rng(seed)
    ease, staff, success = rng.integers(1, 8, n), rng.integers(1, 6, n), rng.integers(0, 3, n)
    noise = rng.normal(0, 0.6, n)
    feeling = np.clip(np.rint(1.0 + 1.2 * success + 0.35 * staff + 0.02 * ease + noise), 1, 5).astype(np.int64)
    return np.column_stack([ease, staff, success, feeling])


def events(rows: npt.NDArray[np.int64]) -> list[Any]:
    answers = [{"ease": int(e), "staff": int(s), "success": CODES[int(ok)], "feeling": int(f)} for e, s, ok, f in rows]
    return [response_event(a, questions=QUESTIONS, survey_id="srv_x", unit="emea/de") for a in answers]


async def test_emotion_as_the_outcome_with_success_as_a_driver(
    ingest: Ingest, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    rows = planted(200, seed=23)
    await ingest(events(rows))
    params = {"survey_id": "srv_x", "outcome": "emotion"}
    response = await metrics_client.get("/v1/drivers", params=params, headers=auth(scopes="metrics:read"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert (body["outcome"], body["outcome_question"], body["method"], body["n"]) == (
        "emotion",
        "feeling",
        "relative_weights",
        200,
    )
    weights, r2 = johnson(rows)
    assert body["r2"] == pytest.approx(r2) and body["r2"] == pytest.approx(ols_r2(rows))
    found = {d["question"]: d for d in body["drivers"]}
    assert body["drivers"][0]["question"] == "success"  # the planted strongest driver
    for j, key in enumerate(ATTRIBUTES):
        assert found[key]["weight_pct"] == pytest.approx(weights[j])
        assert found[key]["correlation"] == pytest.approx(np.corrcoef(rows[:, j], rows[:, -1])[0, 1])
    assert found["success"]["kind"] == "success"
    assert found["success"]["mean"] == pytest.approx(rows[:, 2].mean())
    assert found["success"]["top2_pct"] == pytest.approx(100 * np.mean(rows[:, 2] == 2))  # yes alone


async def test_success_as_the_outcome(ingest: Ingest, metrics_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    rows = planted(40, seed=5)
    await ingest(events(rows))
    params = {"survey_id": "srv_x", "outcome": "success"}
    response = await metrics_client.get("/v1/drivers", params=params, headers=auth(scopes="metrics:read"))
    body = response.json()
    assert (body["outcome_question"], body["method"], body["n"]) == ("success", "correlation", 40)
    found = {d["question"]: d for d in body["drivers"]}
    assert set(found) == {"ease", "staff", "feeling"}
    reordered = rows[:, [0, 1, 3, 2]]  # success (the outcome) last
    assert found["feeling"]["correlation"] == pytest.approx(np.corrcoef(reordered[:, 2], reordered[:, 3])[0, 1])
