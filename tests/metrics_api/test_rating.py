"""Rating questions as metrics (mean with a t interval, top box, top-2-box), CES on a 1-5 scale, and the 422s
for a question key the surveys do not have; expected numbers computed by hand here."""

from __future__ import annotations

import math
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import days_ago, question, response_event, scored
from tests.metrics_api.test_metric_values import T_975_DF9

STAFF = [question("nps", "nps", 0, 10), question("staff", "rating", 1, 5), question("speed", "rating", 1, 5)]


def rating_events(scores: list[int], **options: Any) -> list[Any]:
    """One response per score of the `staff` rating question (each also answers NPS 9 and speed 3)."""
    return [response_event({"nps": 9, "staff": s, "speed": 3}, questions=STAFF, **options) for s in scores]


async def test_rating_mean_interval_and_boxes(ingest: Ingest, read: Read) -> None:
    scores = [5, 4, 4, 3, 5, 2, 5, 4, 1, 5]
    await ingest(rating_events(scores))
    answer = await read("rating", question="staff")
    n, mean = 10, sum(scores) / 10
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1))
    half = T_975_DF9 * sd / math.sqrt(n)
    assert (answer["metric"], answer["n"], answer["value"], answer["mean"]) == ("rating", 10, mean, mean)
    assert answer["ci"] == {"low": pytest.approx(mean - half), "high": pytest.approx(mean + half), "level": 0.95}
    assert (answer["top_box"], answer["top_box_pct"]) == (4, pytest.approx(40.0))
    assert (answer["top2_box"], answer["top2_box_pct"]) == (7, pytest.approx(70.0))
    assert answer["histogram"] == {"1": 1, "2": 1, "3": 1, "4": 3, "5": 4}
    assert (answer["scale_min"], answer["scale_max"]) == (1, 5)


async def test_rating_groups_and_comparison(ingest: Ingest, read: Read) -> None:
    await ingest(rating_events([5, 5, 5, 4, 4], unit="emea/berlin"))
    await ingest(rating_events([1, 2, 2, 3, 1], unit="emea/paris"))
    answer = await read("rating", question="staff", unit="emea", group_by="unit")
    groups = {g["key"]: g for g in answer["groups"]}
    assert (groups["emea/berlin"]["mean"], groups["emea/paris"]["mean"]) == (4.6, 1.8)
    assert answer["n"] == 10
    segments = await read("rating", question="speed", compare="previous")
    assert (segments["value"], segments["previous"]) == (3.0, {"value": None, "n": 0})


async def test_rating_of_another_scale_cannot_be_mixed(
    ingest: Ingest, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await ingest(rating_events([5, 4]))
    ten = [question("staff", "rating", 0, 10)]
    await ingest([response_event({"staff": 8}, questions=ten, survey_id="srv_2")])
    response = await metrics_client.get("/v1/metrics/rating", params={"question": "staff"}, headers=auth())
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "mixed_scales"


async def test_rating_needs_a_question(metrics_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    response = await metrics_client.get("/v1/metrics/rating", headers=auth())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].endswith("question")


async def test_an_unknown_question_key_names_the_survey_questions(
    ingest: Ingest, metrics_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    await ingest(rating_events([5, 4, 3]))
    params = {"question": "staf", "survey_id": "srv_1"}
    response = await metrics_client.get("/v1/metrics/rating", params=params, headers=auth())
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("question", "unknown_question")
    assert "nps (nps), speed (rating), staff (rating)" in error["message"]
    other_kind = await metrics_client.get("/v1/metrics/csat", params={"question": "staff"}, headers=auth())
    assert other_kind.status_code == 422
    assert other_kind.json()["errors"][0]["code"] == "other_kind"
    assert "/v1/metrics/rating" in other_kind.json()["errors"][0]["message"]


async def test_ces_easy_on_a_five_point_scale_is_above_the_midpoint(ingest: Ingest, read: Read) -> None:
    scores = [1, 2, 3, 3, 4, 5, 5, 4, 3, 2]
    await ingest(scored(scores, key="effort", questions=[question("effort", "ces", 1, 5)], submitted_at=days_ago(1)))
    answer = await read("ces", question="effort")
    assert answer["easy"] == 4  # 4 and 5: the neutral 3 is not easy
    assert answer["easy_pct"] == pytest.approx(40.0)


async def test_a_survey_nobody_answered_yet_has_no_questions_to_check(ingest: Ingest, read: Read) -> None:
    await ingest(rating_events([5, 4, 3]))
    answer = await read("rating", question="cleanliness", survey_id="srv_new")
    assert (answer["n"], answer["value"]) == (0, None)
