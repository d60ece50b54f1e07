"""Root causes across cases: `GET /v1/cases?root_cause=` and `GET /v1/root-causes/stats`, against hand counts."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.loop_api.helpers import RW, FakeClock, ok, open_case, problem, root_cause, step

PREVIOUS_DAY = dt.datetime(2026, 2, 24, 10, tzinfo=dt.UTC)
CURRENT_DAY = dt.datetime(2026, 3, 3, 10, tzinfo=dt.UTC)
RANGE = {"from": "2026-03-02T00:00:00+00:00", "to": "2026-03-09T00:00:00+00:00"}  # previous: from Feb 23
# (unit, codes) of the cases closed in each week.
PREVIOUS = [("emea/de", ["delivery.late"])] + [("emea/de", ["price"])] * 9
CURRENT = (
    [("emea/de", ["delivery.late"])] * 6
    + [("emea/fr", ["delivery.late"])] * 2
    + [("emea/fr", ["delivery.damaged", "price"]), ("emea/de", ["price"])]
)


def two_sided_p(x_1: int, n_1: int, x_2: int, n_2: int) -> float:
    """The pooled two-proportion z-test, by hand."""
    pooled = (x_1 + x_2) / (n_1 + n_2)
    z = (x_1 / n_1 - x_2 / n_2) / math.sqrt(pooled * (1 - pooled) * (1 / n_1 + 1 / n_2))
    return math.erfc(abs(z) / math.sqrt(2))


async def close_with(client: httpx.AsyncClient, headers: dict[str, str], case_id: str, codes: list[str]) -> None:
    await step(client, headers, case_id, status="in_progress")
    await step(client, headers, case_id, status="resolved")
    await step(client, headers, case_id, status="closed", root_causes=codes, resolution="x", outcome="recovered")


async def planted(
    client: httpx.AsyncClient, service: dict[str, str], headers: dict[str, str], clock: FakeClock
) -> None:
    """The taxonomy, the closed cases of both weeks, and one open case (never counted)."""
    for code, parent in [("delivery", None), ("delivery.late", "delivery"), ("delivery.damaged", "delivery")]:
        await root_cause(client, headers, code, **({"parent_code": parent} if parent else {}))
    await root_cause(client, headers, "price")
    for day, cases in ((PREVIOUS_DAY, PREVIOUS), (CURRENT_DAY, CURRENT)):
        clock.now = day
        for i, (unit, codes) in enumerate(cases):
            case = await open_case(client, service, headers, unit=unit, contact_id=f"ct_{i}", submitted_at=day)
            await close_with(client, headers, case["id"], codes)
    await open_case(client, service, headers, unit="emea/de", submitted_at=CURRENT_DAY)


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(scopes=RW)


class TestRootCauseFilter:
    async def test_a_code_finds_its_sub_codes(
        self, loop_client: httpx.AsyncClient, service: dict[str, str], headers: dict[str, str], clock: FakeClock
    ) -> None:
        await planted(loop_client, service, headers, clock)

        async def count(code: str, **params: Any) -> int:
            query = {"root_cause": code, "limit": 200, **params}
            return len((await ok(await loop_client.get("/v1/cases", params=query, headers=headers)))["items"])

        assert await count("delivery") == 1 + 8 + 1
        assert await count("delivery.late") == 1 + 8
        assert await count("delivery.damaged") == 1
        assert await count("price") == 9 + 2
        assert await count("price", unit="emea/fr") == 1
        assert await count("nothing") == 0

    async def test_an_invalid_code_is_422(self, loop_client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        problem(await loop_client.get("/v1/cases", params={"root_cause": "Not A Code"}, headers=headers), 422)


class TestRootCauseStats:
    async def test_counts_shares_groups_and_rising(
        self, loop_client: httpx.AsyncClient, service: dict[str, str], headers: dict[str, str], clock: FakeClock
    ) -> None:
        await planted(loop_client, service, headers, clock)
        body = await ok(await loop_client.get("/v1/root-causes/stats", params={**RANGE, "by": "unit"}, headers=headers))
        assert (body["closed_cases"], body["previous_closed_cases"]) == (10, 10)
        items = {item["code"]: item for item in body["items"]}
        assert [item["code"] for item in body["items"]] == ["delivery.late", "price", "delivery.damaged"]
        late = items["delivery.late"]
        assert (late["cases"], late["share_pct"], late["previous"]) == (8, 80.0, {"cases": 1, "share_pct": 10.0})
        assert late["change_pct"] == pytest.approx(70.0)
        assert late["p_value"] == pytest.approx(two_sided_p(8, 10, 1, 10))
        assert late["rising"] is True
        assert late["groups"] == [
            {"key": "emea/de", "cases": 6, "closed_cases": 7, "share_pct": pytest.approx(600 / 7)},
            {"key": "emea/fr", "cases": 2, "closed_cases": 3, "share_pct": pytest.approx(200 / 3)},
        ]
        assert (items["price"]["cases"], items["price"]["rising"]) == (2, False)
        damaged = items["delivery.damaged"]
        assert damaged["p_value"] == pytest.approx(two_sided_p(1, 10, 0, 10))
        assert damaged["rising"] is False
        assert body["rising"] == ["delivery.late"]

    async def test_by_month_and_unit_restricted(
        self,
        loop_client: httpx.AsyncClient,
        service: dict[str, str],
        headers: dict[str, str],
        clock: FakeClock,
        auth: TokenFactory,
    ) -> None:
        await planted(loop_client, service, headers, clock)
        params = {"from": "2026-02-01T00:00:00+00:00", "to": "2026-04-01T00:00:00+00:00", "by": "month"}
        body = await ok(await loop_client.get("/v1/root-causes/stats", params=params, headers=headers))
        price = next(item for item in body["items"] if item["code"] == "price")
        assert [(g["key"], g["cases"], g["closed_cases"]) for g in price["groups"]] == [
            ("2026-02", 9, 10),
            ("2026-03", 2, 10),
        ]
        france = auth(scopes="cases:read", units=["emea/fr"])
        body = await ok(await loop_client.get("/v1/root-causes/stats", params=RANGE, headers=france))
        assert body["closed_cases"] == 3
        assert {item["code"]: item["cases"] for item in body["items"]} == {
            "delivery.late": 2,
            "delivery.damaged": 1,
            "price": 1,
        }

    async def test_bad_range_and_scope(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes="cases:read")
        params = {"from": RANGE["to"], "to": RANGE["from"]}
        problem(await loop_client.get("/v1/root-causes/stats", params=params, headers=headers), 422)
        problem(await loop_client.get("/v1/root-causes/stats", params={"by": "week"}, headers=headers), 422)
        problem(await loop_client.get("/v1/root-causes/stats", headers=auth(scopes="plans:read")), 403)
