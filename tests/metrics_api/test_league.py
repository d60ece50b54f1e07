"""`group_by=unit&depth=N`: every unit at one depth ranked, with percentile and a test against the rest."""

from __future__ import annotations

import datetime as dt
import math

import httpx
import pytest
from scipy import stats

from tests.conftest import TokenFactory
from tests.metrics_api.conftest import Ingest, Read
from tests.metrics_api.events import nps_scores, scored

Client = httpx.AsyncClient
STORES = {
    "emea/de/berlin-01": nps_scores(40, 0, 10),  # NPS 60
    "emea/de/munich-02": nps_scores(25, 0, 25),  # NPS 0
    "emea/fr/paris-01": nps_scores(10, 0, 40),  # NPS -60
    "amer/us/nyc-01": [10, 8, 0],  # below the minimum sample
}


async def seed(ingest: Ingest) -> None:
    for unit, scores in STORES.items():
        await ingest(scored(scores, unit=unit))


def adjusted_wald_p(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    """Two-sided p of NPS₁ - NPS₂ over the adjusted-Wald SEs (n+3, P+¾, D+¾), as the metrics' comparisons."""
    values, variances = [], []
    for promoters, detractors, n in (first, second):
        values.append(100 * (promoters - detractors) / n)
        p, d = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3)
        variances.append(100**2 * (p + d - (p - d) ** 2) / (n + 3))
    z = (values[0] - values[1]) / math.sqrt(sum(variances))
    return float(2 * stats.norm.sf(abs(z)))


async def test_every_store_of_the_org_is_ranked(ingest: Ingest, read: Read) -> None:
    await seed(ingest)
    body = await read("nps", group_by="unit", depth=3)
    rows = {g["key"]: g for g in body["groups"]}
    assert [g["key"] for g in body["groups"]] == [*list(STORES)[:3], "amer/us/nyc-01"]
    assert [rows[k]["rank"] for k in STORES] == [1, 2, 3, None]
    assert [rows[k]["percentile"] for k in STORES] == [100.0, 50.0, 0.0, None]
    assert rows["emea/de/berlin-01"]["value"] == pytest.approx(60.0)
    # berlin (40 P, 10 D of 50) against the rest (36 P, 66 D of 103)
    assert rows["emea/de/berlin-01"]["vs_rest_p_value"] == pytest.approx(adjusted_wald_p((40, 10, 50), (36, 66, 103)))
    flags = {k: (rows[k]["significantly_above"], rows[k]["significantly_below"]) for k in STORES}
    assert flags == {
        "emea/de/berlin-01": (True, False),
        "emea/de/munich-02": (False, False),
        "emea/fr/paris-01": (False, True),
        "amer/us/nyc-01": (False, False),
    }


async def test_the_facts_rank_the_same_way(ingest: Ingest, read: Read) -> None:
    await seed(ingest)
    from_rollups = await read("nps", group_by="unit", depth=3, unit="emea")
    from_facts = await read("nps", group_by="unit", depth=3, unit="emea", channel="email")
    assert [g["key"] for g in from_rollups["groups"]] == list(STORES)[:3]
    assert from_facts["groups"] == from_rollups["groups"]
    countries = await read("nps", group_by="unit", depth=2)
    assert {g["key"]: g["n"] for g in countries["groups"]} == {"emea/de": 100, "emea/fr": 50, "amer/us": 3}


async def test_a_unit_restricted_token_ranks_only_its_units(ingest: Ingest, read: Read) -> None:
    await seed(ingest)
    body = await read("nps", group_by="unit", depth=3, units=["emea/de"])
    assert [g["key"] for g in body["groups"]] == ["emea/de/berlin-01", "emea/de/munich-02"]


@pytest.mark.parametrize(
    "params",
    [
        {"depth": 3},  # without group_by=unit
        {"depth": 3, "group_by": "channel"},
        {"depth": 2, "group_by": "unit", "unit": "emea/de"},  # not below the unit asked for
        {"depth": 3, "group_by": "unit", "compare": "previous"},
    ],
)
async def test_bad_depths(metrics_client: Client, auth: TokenFactory, params: dict[str, object]) -> None:
    response = await metrics_client.get("/v1/metrics/nps", params=params, headers=auth(scopes="metrics:read"))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].endswith("depth")


async def test_each_row_shows_its_own_target(
    metrics_client: Client, ingest: Ingest, read: Read, auth: TokenFactory
) -> None:
    await seed(ingest)
    today = dt.date.today()
    period = {"period_start": (today - dt.timedelta(days=60)).isoformat(), "period_end": today.isoformat()}
    for unit, value in (("emea/de/berlin-01", 70), ("emea/fr/paris-01", -70)):
        body = {"metric": "nps", "unit": unit, "value": value, **period}
        assert (await metrics_client.post("/v1/targets", json=body, headers=auth())).status_code == 201
    rows = {g["key"]: g for g in (await read("nps", group_by="unit", depth=3, include="target"))["groups"]}
    assert (rows["emea/de/berlin-01"]["target"]["value"], rows["emea/de/berlin-01"]["target"]["met"]) == (70, False)
    assert rows["emea/fr/paris-01"]["target"]["met"] is True
    assert rows["emea/de/munich-02"]["target"] is None
