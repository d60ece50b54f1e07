"""`target=` on NPS and CSAT: what it takes to reach it, against hand-computed counts (exact, impossible → null,
met → 0), the scope's saved target when none is asked, and the scorecard's targets."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import days_ago, nps_scores, scored

Client = httpx.AsyncClient
# 3 promoters, 3 passives, 4 detractors: NPS -10 over n = 10
NPS = nps_scores(3, 3, 4)
# 3 fives, 2 fours: 50 % satisfied, 30 % top box, over n = 10
CSAT = [5, 5, 4, 3, 2, 1, 4, 5, 3, 2]


def counts(body: dict[str, Any]) -> dict[str, int | None]:
    return {f"{m['from']}>{m['to']}": m["count"] for m in body["to_target"]["moves"]}


@pytest.mark.parametrize(
    ("target", "met", "expected"),
    [
        # gap = T·n/100 - (P - D) answers: (20·10/100 + 1) = 3
        (20, False, {"detractor>promoter": 2, "passive>promoter": 3, "detractor>passive": 3}),
        # gap 4: exactly 2 detractors made promoters, not 3 (exact arithmetic)
        (30, False, {"detractor>promoter": 2, "passive>promoter": None, "detractor>passive": 4}),
        # gap 4.33
        (33.3, False, {"detractor>promoter": 3, "passive>promoter": None, "detractor>passive": None}),
        # gap 11: more answers than exist for every move
        (100, False, {"detractor>promoter": None, "passive>promoter": None, "detractor>passive": None}),
        (-20, True, {"detractor>promoter": 0, "passive>promoter": 0, "detractor>passive": 0}),
        (-10, True, {"detractor>promoter": 0, "passive>promoter": 0, "detractor>passive": 0}),
    ],
)
async def test_nps_moves(ingest: Ingest, read: Read, target: float, met: bool, expected: dict[str, Any]) -> None:
    await ingest(scored(NPS))
    body = await read("nps", target=target)
    assert body["value"] == pytest.approx(-10.0)
    assert body["to_target"]["target"] == target and body["to_target"]["source"] == "request"
    assert body["to_target"]["met"] is met
    assert counts(body) == expected


@pytest.mark.parametrize(
    ("target", "target_on", "met", "expected"),
    [
        (80, "value", False, {"below>satisfied": 3}),  # 8 of 10 satisfied, 5 are
        (100, "value", False, {"below>satisfied": 5}),
        (40, "value", True, {"below>satisfied": 0}),
        (50, "top_box", False, {"4>5": 2}),  # 5 of 10 in the top box, 3 are, 2 fours exist
        (60, "top_box", False, {"4>5": None}),  # 3 fours needed, 2 exist
        (30, "top_box", True, {"4>5": 0}),
    ],
)
async def test_csat_moves(
    ingest: Ingest, read: Read, target: float, target_on: str, met: bool, expected: dict[str, Any]
) -> None:
    await ingest(scored(CSAT, key="csat"))
    body = await read("csat", target=target, target_on=target_on)
    assert body["to_target"]["met"] is met and body["to_target"]["target_on"] == target_on
    assert counts(body) == expected


async def test_below_the_minimum_sample_nothing_is_said(ingest: Ingest, read: Read) -> None:
    await ingest(scored([0, 10, 9]))
    body = await read("nps", target=50)
    assert body["value"] is None
    assert body["to_target"]["met"] is None and set(counts(body).values()) == {None}


async def test_a_saved_target_of_the_scope_is_used(
    metrics_client: Client, ingest: Ingest, read: Read, auth: TokenFactory
) -> None:
    await ingest(scored(NPS, unit="emea/de", submitted_at=days_ago(2)))
    today = dt.date.today()
    period = {"period_start": (today - dt.timedelta(days=60)).isoformat(), "period_end": today.isoformat()}
    body = {"metric": "nps", "unit": "emea/de", "value": 20, **period}
    assert (await metrics_client.post("/v1/targets", json=body, headers=auth())).status_code == 201
    answer = await read("nps", unit="emea/de")
    assert answer["to_target"]["source"] == "saved" and answer["to_target"]["target"] == 20
    assert counts(answer)["detractor>promoter"] == 2
    assert (await read("nps", unit="emea/de", target=-50))["to_target"]["met"] is True  # asked beats saved
    assert "to_target" not in await read("nps")  # the org has no target of its own
    card = await metrics_client.get("/v1/scorecards/emea/de", headers=auth(scopes="metrics:read"))
    moves = card.json()["nps"]["target"]["to_target"]["moves"]
    assert {m["from"] + ">" + m["to"]: m["count"] for m in moves}["passive>promoter"] == 3


@pytest.mark.parametrize(
    ("metric", "params", "field"),
    [
        ("ces", {"target": 5}, "target"),
        ("response_rate", {"target": 50}, "target"),
        ("nps", {"target": 20, "target_on": "top_box"}, "target_on"),
        ("csat", {"target_on": "top_box"}, "target_on"),
        ("csat", {"target": -5}, "target"),
        ("nps", {"target": 101}, "target"),
    ],
)
async def test_targets_without_moves_are_refused(
    metrics_client: Client, auth: TokenFactory, metric: str, params: dict[str, Any], field: str
) -> None:
    response = await metrics_client.get(f"/v1/metrics/{metric}", params=params, headers=auth(scopes="metrics:read"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].endswith(field)
