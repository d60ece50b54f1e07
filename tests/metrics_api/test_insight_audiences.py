"""Insight under audiences and purposes: reasons, league rows and segment trends of employees are anonymous below
the minimum sample, follow-ups stay out of the scorecard's points lost, and rating takes a target (by hand)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import nps_scores, question, response_event, scored

Client = httpx.AsyncClient
QUESTIONS = [question("nps", "nps", 0, 10), question("why", "reasons")]


def cited(answers: list[tuple[int, list[str]]], **options: Any) -> list[Any]:
    return [
        response_event({"nps": s, "why": why}, questions=QUESTIONS, unit="emea/de", **options) for s, why in answers
    ]


async def get(client: Client, path: str, headers: dict[str, str], status: int = 200, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=headers)
    assert response.status_code == status, response.text
    return response.json()


async def test_employee_reasons_hide_small_codes_and_need_their_audience(
    metrics_client: Client, ingest: Ingest, auth: TokenFactory
) -> None:
    # 6 detractors citing wait, 2 promoters citing staff, 4 promoters citing nothing: n 12, NPS 0
    answers = [(0, ["wait"])] * 6 + [(9, ["staff"])] * 2 + [(10, [])] * 4
    await ingest(cited(answers, survey_id="srv_pulse", audience="employees"))
    headers = auth(scopes="metrics:read")
    params = {"survey_id": "srv_pulse", "question": "why"}
    refused = await get(metrics_client, "/v1/reasons", headers, 422, **params)
    assert refused["errors"][0]["field"] == "audience"
    for extra in ({}, {"channel": "email"}):  # rollups and facts
        body = await get(metrics_client, "/v1/reasons", headers, audience="employees", **params, **extra)
        assert (body["audience"], body["n"], body["nps"]) == ("employees", 12, pytest.approx(0.0))
        items = {item["code"]: item for item in body["items"]}
        # wait: 6 cite it (NPS -100), the other 6 are promoters (NPS 100): (6/12)·200 points
        assert (items["wait"]["count"], items["wait"]["points_lost"]) == (6, pytest.approx(100.0))
        # staff: 2 cite it, below the minimum sample of 5: nothing of it, not even the NPS of the other 10
        assert {k: items["staff"][k] for k in ("count", "share_pct", "nps_with", "nps_without", "points_lost")} == {
            "count": None,
            "share_pct": None,
            "nps_with": None,
            "nps_without": None,
            "points_lost": None,
        }
    await ingest(cited([(0, ["wait"])] * 3, survey_id="srv_small", audience="employees"))
    small = await get(
        metrics_client, "/v1/reasons", headers, audience="employees", survey_id="srv_small", question="why"
    )
    assert (small["n"], small["items"]) == (None, [])


async def test_scorecard_points_lost_leave_out_followups_and_employees(
    metrics_client: Client, ingest: Ingest, auth: TokenFactory
) -> None:
    # customers: 3 detractors cite wait, 7 others: 4 promoters, 2 passives, 1 detractor
    answers = [(0, ["wait"])] * 3 + [(9, [])] * 4 + [(7, [])] * 2 + [(3, [])]
    await ingest(cited(answers, survey_id="srv_r"))
    await ingest(cited([(10, ["wait"])] * 6, survey_id="srv_followup", purpose="followup"))
    await ingest(cited([(10, ["wait"])] * 6, survey_id="srv_pulse", audience="employees"))
    settings = await metrics_client.put("/v1/org-settings", json={"min_sample": 1}, headers=auth())
    assert settings.status_code == 200, settings.text  # so the 3 citing wait show their NPS
    card = await get(metrics_client, "/v1/scorecards/emea", auth(scopes="metrics:read"))
    wait = {reason["code"]: reason for reason in card["top_reasons"]}["wait"]
    # NPS with: -100 (n 3); without: 100·(4 - 1)/7 (n 7); share 3/10
    assert (wait["count"], wait["points_lost"]) == (3, pytest.approx(0.3 * (300 / 7 + 100)))


async def _employees_in_three_stores(ingest: Ingest) -> None:
    """Employees: 8 in Berlin (4 promoters, 2 detractors: NPS 25), 6 in Rome, 2 in Paris; customers: 10 in Paris."""
    await ingest(scored(nps_scores(4, 2, 2), survey_id="srv_pulse", unit="emea/berlin", audience="employees"))
    await ingest(scored(nps_scores(1, 2, 3), survey_id="srv_pulse", unit="emea/rome", audience="employees"))
    await ingest(scored(nps_scores(1, 0, 1), survey_id="srv_pulse", unit="emea/paris", audience="employees"))
    await ingest(scored(nps_scores(10, 0, 0), survey_id="srv_c", unit="emea/paris"))


async def test_employee_league_rows_are_anonymous(ingest: Ingest, read: Read) -> None:
    await _employees_in_three_stores(ingest)
    answer = await read("nps", audience="employees", group_by="unit", depth=2)
    rows = {row["key"]: row for row in answer["groups"]}
    assert answer["n"] == 16
    assert (rows["emea/berlin"]["n"], rows["emea/berlin"]["value"], rows["emea/berlin"]["rank"]) == (8, 25.0, 1)
    assert (rows["emea/paris"]["n"], rows["emea/paris"]["reason"]) == (None, "below_min_sample")  # no customers
    # 16 - 8 (Berlin) would give Paris' 2 back with Rome shown: Rome is hidden too
    assert (rows["emea/rome"]["n"], rows["emea/rome"]["reason"]) == (None, "protects_small_group")
    assert rows["emea/rome"]["significantly_below"] is False and rows["emea/rome"]["rank"] is None


async def test_employee_segment_trends_are_anonymous(ingest: Ingest, read: Read) -> None:
    await _employees_in_three_stores(ingest)
    answer = await read("nps", audience="employees", unit="emea", group_by="unit", interval="month")
    groups = {group["key"]: group for group in answer["groups"]}
    assert (answer["groups_total"], groups["emea/berlin"]["n"]) == (3, 8)
    assert groups["emea/rome"]["reason"] == "protects_small_group"
    assert all(point["n"] is None for key in ("emea/rome", "emea/paris") for point in groups[key]["trend"])
    assert sum(point["n"] or 0 for point in groups["emea/berlin"]["trend"]) == 8


RATING = [question("staff", "rating", 1, 5)]
STAFF = [5, 5, 4, 3, 2, 1, 4, 5, 3, 2]  # n 10, Σ 34 (mean 3.4); 3 fives, 2 fours, one 1


def moves(body: dict[str, Any]) -> dict[str, int | None]:
    return {f"{m['from']}>{m['to']}": m["count"] for m in body["to_target"]["moves"]}


@pytest.mark.parametrize(
    ("params", "met", "expected"),
    [
        ({"target": 3.6}, False, {"4>5": 2, "1>5": 1}),  # 2 points short: two 4s, or one 1 (+4)
        ({"target": 4.5}, False, {"4>5": None, "1>5": None}),  # 11 points: 11 fours or 3 ones needed
        ({"target": 3.4}, True, {"4>5": 0, "1>5": 0}),
        ({"target": 50, "target_on": "top_box"}, False, {"4>5": 2}),  # 5 of 10 in the top box, 3 are
    ],
)
async def test_rating_to_target(
    ingest: Ingest, read: Read, params: dict[str, Any], met: bool, expected: dict[str, Any]
) -> None:
    await ingest([response_event({"staff": s}, questions=RATING) for s in STAFF])
    body = await read("rating", question="staff", **params)
    assert body["value"] == pytest.approx(3.4)
    assert (body["to_target"]["met"], moves(body)) == (met, expected)


async def test_a_rating_mean_target_above_ten_is_refused(
    metrics_client: Client, ingest: Ingest, auth: TokenFactory
) -> None:
    await ingest([response_event({"staff": s}, questions=RATING) for s in STAFF])
    body = await get(
        metrics_client, "/v1/metrics/rating", auth(scopes="metrics:read"), 422, question="staff", target=50
    )
    assert body["errors"][0]["field"].endswith("target")
