"""`GET /v1/drivers`: Johnson's relative weights against an eigen-decomposition written here, quadrants, the
correlation fallback below n = 50 + 8·m, and unit-restricted tokens."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest
from tests.metrics_api.events import question, response_event

Client = httpx.AsyncClient
QUESTIONS = [
    question("nps", "nps", 0, 10),
    question("staff", "rating", 1, 5),
    question("speed", "csat", 1, 5),
    question("ease", "ces", 1, 7),
]
ATTRIBUTES = ("ease", "speed", "staff")  # the order of the columns below
TOPS = {"ease": 7, "speed": 5, "staff": 5}


def planted(n: int, seed: int) -> npt.NDArray[np.int64]:
    """n rows of (ease, speed, staff, nps): NPS driven mostly by staff, a little by speed, barely by ease."""
    rng = np.random.default_rng(seed)
    staff, speed, ease = rng.integers(1, 6, n), rng.integers(1, 6, n), rng.integers(1, 8, n)
    noise = rng.normal(0, 1.0, n)
    nps = np.clip(np.rint(2.0 * staff + 0.6 * speed + 0.05 * ease - 3.5 + noise), 0, 10).astype(np.int64)
    return np.column_stack([ease, speed, staff, nps])


def events(rows: npt.NDArray[np.int64], unit: str) -> list[Any]:
    answers = [dict(zip((*ATTRIBUTES, "nps"), (int(v) for v in row), strict=True)) for row in rows]
    return [response_event(a, questions=QUESTIONS, survey_id="srv_d", unit=unit) for a in answers]


def johnson(scores: npt.NDArray[Any]) -> tuple[npt.NDArray[np.float64], float]:
    """Relative weights in % and R², by the eigen-decomposition of the predictors' correlation matrix."""
    corr = np.corrcoef(scores.astype(float), rowvar=False)
    rxx, rxy = corr[:-1, :-1], corr[:-1, -1]
    values, vectors = np.linalg.eigh(rxx)
    lam = vectors @ np.diag(np.sqrt(values)) @ vectors.T
    beta = np.linalg.solve(lam, rxy)
    raw = (lam**2) @ (beta**2)
    return 100.0 * raw / raw.sum(), float(raw.sum())


def ols_r2(scores: npt.NDArray[Any]) -> float:
    """R² of the least-squares fit of the last column on the others (a second, independent route to R²)."""
    x = np.column_stack([scores[:, :-1].astype(float), np.ones(len(scores))])
    y = scores[:, -1].astype(float)
    residual = y - x @ np.linalg.lstsq(x, y, rcond=None)[0]
    return float(1 - residual @ residual / ((y - y.mean()) @ (y - y.mean())))


async def drivers(client: Client, headers: dict[str, str], status: int = 200, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/drivers", params={"survey_id": "srv_d", **params}, headers=headers)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def expected_quadrants(weights: dict[str, float], top2: dict[str, float]) -> dict[str, str]:
    mean_w, mean_t = np.mean(list(weights.values())), np.mean(list(top2.values()))
    names = {(True, False): "fix", (True, True): "maintain", (False, False): "secondary", (False, True): "overinvested"}
    return {q: names[(weights[q] >= mean_w, top2[q] >= mean_t)] for q in weights}


class TestDrivers:
    async def test_unauthenticated(self, metrics_client: Client) -> None:
        assert (await metrics_client.get("/v1/drivers", params={"survey_id": "srv_d"})).status_code == 401

    async def test_missing_scope(self, metrics_client: Client, auth: TokenFactory) -> None:
        await drivers(metrics_client, auth(scopes="cases:read"), 403)

    async def test_relative_weights_match_an_eigen_decomposition(
        self, metrics_client: Client, ingest: Ingest, auth: TokenFactory
    ) -> None:
        rows = planted(300, seed=7)
        await ingest(events(rows, "emea/de"))
        # responses that skipped an attribute are left out of n
        await ingest([response_event({"nps": 10, "staff": 5}, questions=QUESTIONS, survey_id="srv_d")] * 1)
        body = await drivers(metrics_client, auth(scopes="metrics:read"))
        assert body["method"] == "relative_weights" and body["n"] == 300 and body["min_n"] == 50 + 8 * 3
        weights, r2 = johnson(rows)
        assert body["r2"] == pytest.approx(r2) and body["r2"] == pytest.approx(ols_r2(rows))
        found = {d["question"]: d for d in body["drivers"]}
        assert body["drivers"][0]["question"] == "staff"  # the planted driver comes first
        assert sum(d["weight_pct"] for d in body["drivers"]) == pytest.approx(100.0)
        top2 = {}
        for j, key in enumerate(ATTRIBUTES):
            driver, column = found[key], rows[:, j]
            assert driver["weight_pct"] == pytest.approx(weights[j])
            assert driver["correlation"] == pytest.approx(np.corrcoef(column, rows[:, -1])[0, 1])
            assert driver["mean"] == pytest.approx(column.mean())
            top2[key] = 100.0 * np.mean(column >= TOPS[key] - 1)
            assert driver["top2_pct"] == pytest.approx(top2[key])
            assert driver["weight_ci"]["low"] <= driver["weight_pct"] <= driver["weight_ci"]["high"]
        quadrants = expected_quadrants({k: found[k]["weight_pct"] for k in ATTRIBUTES}, top2)
        assert {k: found[k]["quadrant"] for k in ATTRIBUTES} == quadrants
        assert found["staff"]["overlaps_next"] is False  # far ahead of the second
        assert body["drivers"][-1]["overlaps_next"] is False

    async def test_below_the_threshold_only_correlations(
        self, metrics_client: Client, ingest: Ingest, auth: TokenFactory
    ) -> None:
        rows = planted(60, seed=3)  # 60 < 50 + 8·3
        await ingest(events(rows, "emea/de"))
        body = await drivers(metrics_client, auth(scopes="metrics:read"))
        assert body["method"] == "correlation" and body["n"] == 60 and body["r2"] is None
        assert "74" in body["reason"]
        assert all(d["weight_pct"] is None for d in body["drivers"])
        correlations = {k: np.corrcoef(rows[:, j], rows[:, -1])[0, 1] for j, k in enumerate(ATTRIBUTES)}
        assert [d["question"] for d in body["drivers"]] == sorted(correlations, key=lambda k: -abs(correlations[k]))

    async def test_a_csat_question_as_the_outcome(
        self, metrics_client: Client, ingest: Ingest, auth: TokenFactory
    ) -> None:
        rows = planted(200, seed=11)
        await ingest(events(rows, "emea/de"))
        body = await drivers(metrics_client, auth(scopes="metrics:read"), outcome="speed")
        assert body["outcome_question"] == "speed" and {d["question"] for d in body["drivers"]} == {"ease", "staff"}
        # columns ease, staff on speed (the NPS question is not a rated attribute)
        weights, r2 = johnson(rows[:, [0, 2, 1]])
        assert body["r2"] == pytest.approx(r2)
        assert {d["question"]: d["weight_pct"] for d in body["drivers"]} == pytest.approx(
            {"ease": weights[0], "staff": weights[1]}
        )

    async def test_a_unit_restricted_token_sees_only_its_units(
        self, metrics_client: Client, ingest: Ingest, auth: TokenFactory
    ) -> None:
        emea, amer = planted(120, seed=5), planted(150, seed=6)
        await ingest(events(emea, "emea/de") + events(amer, "amer/us"))
        restricted = auth(scopes="metrics:read", units=["emea"])
        body = await drivers(metrics_client, restricted)
        assert body["n"] == 120
        assert body["r2"] == pytest.approx(johnson(emea)[1])
        await drivers(metrics_client, restricted, 403, unit="amer")
        everyone = await drivers(metrics_client, auth(scopes="metrics:read"), channel="email")
        assert everyone["n"] == 270  # the facts path (a channel filter) sees both

    async def test_bad_requests(self, metrics_client: Client, ingest: Ingest, auth: TokenFactory) -> None:
        await ingest(events(planted(10, seed=1), "emea/de"))
        headers = auth(scopes="metrics:read")
        response = await metrics_client.get("/v1/drivers", headers=headers)
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "survey_id"
        body = await drivers(metrics_client, headers, 422, outcome="nothing")
        assert body["errors"][0]["code"] == "unknown_outcome"
        body = await drivers(metrics_client, headers, 422, group_by="unit")
        assert body["errors"][0]["field"] == "group_by"
