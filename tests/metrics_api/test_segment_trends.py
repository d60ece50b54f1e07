"""`group_by` with `interval`: each group's own trend, from rollups and facts alike, capped at 20 groups."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import at, nps_scores, scored

Client = httpx.AsyncClient
SPAN = {"from_": "2026-03-01", "to": "2026-04-30", "interval": "month"}


async def test_each_unit_has_its_trend(ingest: Ingest, read: Read) -> None:
    await ingest(scored(nps_scores(6, 2, 2), unit="emea/de", submitted_at=at("2026-03-05")))  # 40
    await ingest(scored(nps_scores(3, 3, 4), unit="emea/fr", submitted_at=at("2026-04-10")))  # -10
    await ingest(scored(nps_scores(5, 0, 5), unit="amer/us", submitted_at=at("2026-04-02")))  # 0
    body = await read("nps", group_by="unit", **SPAN)
    assert body["n"] == 30 and body["groups_total"] == 2
    emea, amer = body["groups"]  # best first: emea (9 P, 6 D of 20: NPS 15), then amer (0)
    assert (emea["key"], emea["value"], amer["key"], amer["value"]) == ("emea", pytest.approx(15), "amer", 0)
    assert [(p["key"], p["n"], p["value"]) for p in emea["trend"]] == [
        ("2026-03-01", 10, pytest.approx(40)),
        ("2026-04-01", 10, pytest.approx(-10)),
    ]
    assert [(p["key"], p["n"], p["value"]) for p in amer["trend"]] == [("2026-03-01", 0, None), ("2026-04-01", 10, 0)]
    assert body == await read("nps", group_by="unit", channel="email", **SPAN)  # the facts agree


async def test_at_most_twenty_groups_the_largest(ingest: Ingest, read: Read) -> None:
    for i in range(25):
        await ingest(scored([10] * (i + 1), attributes={"segment": f"s{i:02d}"}, submitted_at=at("2026-03-09")))
    body = await read("nps", group_by="attr.segment", **SPAN)
    assert body["groups_total"] == 25
    assert sorted(g["key"] for g in body["groups"]) == [f"s{i:02d}" for i in range(5, 25)]


async def test_a_grouped_trend_cannot_be_compared(metrics_client: Client, auth: TokenFactory) -> None:
    params = {"group_by": "unit", "interval": "month", "compare": "previous"}
    response = await metrics_client.get("/v1/metrics/nps", params=params, headers=auth(scopes="metrics:read"))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "compare"
