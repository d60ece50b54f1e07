"""An action plan's impact: loop_api asks an in-process metrics_api for histograms; checked against a hand
computation (adjusted-Wald NPS standard errors, normal p-value) of the planted answers."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TokenFactory, client_for
from tests.loop_api.helpers import FakeClock, ok, open_case, problem, root_cause, step
from tests.metrics_api.events import nps_scores, post_events, scored

RW = "plans:read plans:write cases:read cases:write"
STARTS = dt.date(2026, 3, 2)
BEFORE = dt.datetime(2026, 2, 15, 12, tzinfo=dt.UTC)  # inside the 30 days before STARTS
AFTER = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)  # inside the 30 days from STARTS
TODAY = dt.datetime(2026, 6, 15, 8, tzinfo=dt.UTC)
Mix = tuple[int, int, int]  # promoters, passives, detractors


def nps_and_se(mix: Mix) -> tuple[float, float]:
    """NPS and its adjusted-Wald standard error, by hand."""
    promoters, passives, detractors = mix
    n = promoters + passives + detractors
    p, d = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3)
    return 100 * (promoters - detractors) / n, 100 * math.sqrt((p + d - (p - d) ** 2) / (n + 3))


def expected(scope: tuple[Mix, Mix], control: tuple[Mix, Mix]) -> tuple[float, float, float]:
    """Effect, SE and two-sided normal p of the difference-in-differences."""
    (sb, sb_se), (sa, sa_se) = nps_and_se(scope[0]), nps_and_se(scope[1])
    (cb, cb_se), (ca, ca_se) = nps_and_se(control[0]), nps_and_se(control[1])
    effect = (sa - sb) - (ca - cb)
    se = math.sqrt(sb_se**2 + sa_se**2 + cb_se**2 + ca_se**2)
    return effect, se, math.erfc(abs(effect) / se / math.sqrt(2))


@pytest.fixture
async def wired(loop_app: FastAPI, metrics_app: FastAPI) -> AsyncIterator[None]:
    """loop_api's metrics client talks to the in-process metrics_api."""
    client = loop_app.state.metrics
    held = client.http
    async with client_for(metrics_app, "metrics") as metrics:
        client.http = metrics
        yield
    client.http = held


async def plant(
    metrics_client: httpx.AsyncClient, auth: TokenFactory, unit: str, mixes: tuple[Mix, Mix], **kw: Any
) -> None:
    """NPS answers of `unit` before and after the start."""
    events = [*scored(nps_scores(*mixes[0]), unit=unit, submitted_at=BEFORE, **kw)]
    events += scored(nps_scores(*mixes[1]), unit=unit, submitted_at=AFTER, **kw)
    await post_events(metrics_client, auth(scopes="events:write", sub="survey_api"), events)


async def make_plan(client: httpx.AsyncClient, headers: dict[str, str], **scope: Any) -> dict[str, Any]:
    body = {
        "title": "Faster delivery in Berlin",
        "problem": "Late delivery keeps coming up in Berlin",
        "root_causes": ["delivery"],
        "scope": {"units": ["emea/de/berlin"], **scope},
        "owner": "carla",
        "metric": "nps",
        "starts_on": STARTS.isoformat(),
    }
    return await ok(await client.post("/v1/action-plans", json=body, headers=headers), 201)


async def impact(client: httpx.AsyncClient, headers: dict[str, str], plan_id: str, **params: Any) -> dict[str, Any]:
    query = {"window_days": 30, **params}
    return await ok(await client.get(f"/v1/action-plans/{plan_id}/impact", params=query, headers=headers))


@pytest.fixture
async def headers(loop_client: httpx.AsyncClient, auth: TokenFactory, clock: FakeClock) -> dict[str, str]:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    await root_cause(loop_client, headers, "delivery.late", parent_code="delivery")
    await root_cause(loop_client, headers, "price")
    clock.now = TODAY
    return headers


class TestImpact:
    async def test_scope_improved_rest_flat(
        self,
        loop_client: httpx.AsyncClient,
        metrics_client: httpx.AsyncClient,
        auth: TokenFactory,
        headers: dict[str, str],
        wired: None,
    ) -> None:
        scope: tuple[Mix, Mix] = ((90, 120, 90), (120, 120, 60))  # NPS 0 → +20
        rest: tuple[Mix, Mix] = ((105, 120, 75), (105, 120, 75))  # NPS +10 → +10
        await plant(metrics_client, auth, "emea/de/berlin", scope, touchpoint_id="tp_1")
        await plant(metrics_client, auth, "emea/fr", rest, touchpoint_id="tp_1")
        await plant(metrics_client, auth, "emea/de/berlin", ((0, 0, 50), (50, 0, 0)), touchpoint_id="tp_2")
        plan = await make_plan(loop_client, headers, touchpoint_ids=["tp_1"])
        effect, se, p_value = expected(scope, rest)
        body = await impact(loop_client, headers, plan["id"])
        assert body["effect"] == pytest.approx(effect) and effect == pytest.approx(20.0)
        assert body["ci"]["low"] == pytest.approx(effect - 1.96 * se)
        assert body["ci"]["high"] == pytest.approx(effect + 1.96 * se)
        assert body["p_value"] == pytest.approx(p_value) and p_value < 0.05
        assert body["significant"] is True
        assert body["scope"] == {"before": {"value": 0.0, "n": 300}, "after": {"value": 20.0, "n": 300}, "change": 20.0}
        assert body["control"] == {
            "name": "rest",
            "before": {"value": 10.0, "n": 300},
            "after": {"value": 10.0, "n": 300},
            "change": 0.0,
        }
        assert (body["method"], body["window_days"], body["after_days"], body["degraded"]) == (
            "difference_in_differences",
            30,
            30,
            [],
        )
        assert body["windows"] == {
            "before": {"from": "2026-01-31", "to": "2026-03-01"},
            "after": {"from": "2026-03-02", "to": "2026-03-31"},
        }
        by_unit = await impact(loop_client, headers, plan["id"], control="emea/fr")
        assert (by_unit["control"]["name"], by_unit["effect"]) == ("emea/fr", pytest.approx(effect))

    async def test_both_rose(
        self,
        loop_client: httpx.AsyncClient,
        metrics_client: httpx.AsyncClient,
        auth: TokenFactory,
        headers: dict[str, str],
        wired: None,
    ) -> None:
        rising: tuple[Mix, Mix] = ((90, 120, 90), (120, 120, 60))
        await plant(metrics_client, auth, "emea/de/berlin", rising)
        await plant(metrics_client, auth, "emea/fr", rising)
        plan = await make_plan(loop_client, headers)
        effect, _, p_value = expected(rising, rising)
        body = await impact(loop_client, headers, plan["id"])
        assert body["scope"]["change"] == pytest.approx(20.0) and body["control"]["change"] == pytest.approx(20.0)
        assert body["effect"] == pytest.approx(effect) and effect == pytest.approx(0.0)
        assert body["p_value"] == pytest.approx(p_value)
        assert body["significant"] is False

    async def test_below_minimum_sample(
        self,
        loop_client: httpx.AsyncClient,
        metrics_client: httpx.AsyncClient,
        auth: TokenFactory,
        headers: dict[str, str],
        wired: None,
    ) -> None:
        await plant(metrics_client, auth, "emea/de/berlin", ((0, 0, 3), (3, 0, 0)))  # 3 < the minimum of 5
        await plant(metrics_client, auth, "emea/fr", ((100, 100, 100), (100, 100, 100)))
        plan = await make_plan(loop_client, headers)
        body = await impact(loop_client, headers, plan["id"])
        assert body["scope"]["before"] == {"value": None, "n": 3}
        assert (body["effect"], body["p_value"], body["significant"], body["reason"]) == (
            None,
            None,
            False,
            "below_min_sample",
        )
        assert (body["control"]["before"]["n"], body["min_sample"]) == (300, 5)

    async def test_metrics_down_is_degraded_and_cases_still_count(
        self,
        loop_client: httpx.AsyncClient,
        loop_app: FastAPI,
        headers: dict[str, str],
        service: dict[str, str],
        clock: FakeClock,
    ) -> None:
        opened = [
            (dt.datetime(2026, 2, 10, 9, tzinfo=dt.UTC), "emea/de/berlin", ["delivery.late"]),
            (dt.datetime(2026, 2, 11, 9, tzinfo=dt.UTC), "emea/de/berlin", ["delivery"]),
            (dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC), "emea/de/berlin", ["delivery.late"]),
            (dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC), "emea/fr", ["delivery.late"]),  # outside the scope
            (dt.datetime(2026, 3, 11, 9, tzinfo=dt.UTC), "emea/de/berlin", ["price"]),  # another cause
        ]
        for at, unit, codes in opened:
            clock.now = at
            case = await open_case(loop_client, service, headers, unit=unit, submitted_at=at)
            await step(loop_client, headers, case["id"], root_causes=codes)
        clock.now = TODAY
        plan = await make_plan(loop_client, headers)

        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        client = loop_app.state.metrics
        held = client.http
        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse), base_url="http://metrics") as down:
            client.http = down
            body = await impact(loop_client, headers, plan["id"])
        client.http = held
        assert body["degraded"] == ["metrics"]
        assert (body["effect"], body["ci"], body["p_value"], body["significant"]) == (None, None, None, False)
        assert body["scope"]["before"] == {"value": None, "n": None}
        assert body["cases"] == {"before": 2, "after": 1}

    async def test_after_window_still_filling(
        self, loop_client: httpx.AsyncClient, headers: dict[str, str], clock: FakeClock, wired: None
    ) -> None:
        plan = await make_plan(loop_client, headers)
        clock.now = dt.datetime(2026, 3, 11, 8, tzinfo=dt.UTC)
        body = await impact(loop_client, headers, plan["id"])
        assert (body["after_days"], body["windows"]["after"]) == (10, {"from": "2026-03-02", "to": "2026-03-11"})
        clock.now = dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC)
        body = await impact(loop_client, headers, plan["id"])
        assert (body["after_days"], body["windows"]["after"], body["reason"]) == (0, None, "not_started")

    async def test_controls_refused(
        self, loop_client: httpx.AsyncClient, headers: dict[str, str], auth: TokenFactory, wired: None
    ) -> None:
        plan = await make_plan(loop_client, headers)
        url = f"/v1/action-plans/{plan['id']}/impact"
        problem(await loop_client.get(url, params={"control": "emea/de/berlin/mitte"}, headers=headers), 422)
        problem(await loop_client.get(url, params={"control": "Not A Unit"}, headers=headers), 422)
        problem(await loop_client.get(url, params={"window_days": 0}, headers=headers), 422)
        german = auth(scopes=RW, units=["emea/de"])
        problem(await loop_client.get(url, params={"control": "emea/fr"}, headers=german), 403)
        problem(await loop_client.get("/v1/action-plans/plan_nope/impact", headers=headers), 404)
