"""An active plan's latest effect: measured in the background against the rest of the org, kept on the plan,
shown on the plan and on the unit's scorecard (metrics_api asks loop_api for it), hidden from restricted callers;
and overdue tasks judged in the org's own time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.loop_api.cases.sweeper import sweep
from services.loop_api.plans.effects import measure_effects
from tests.conftest import TokenFactory, client_for
from tests.loop_api.helpers import FakeClock, ok
from tests.loop_api.test_plan_impact import Mix, expected, plant

RW = "plans:read plans:write"
STARTS = "2026-03-02"
TODAY = dt.datetime(2026, 6, 15, 8, tzinfo=dt.UTC)  # the 90-day after window (Mar 2 - May 30) is complete


@pytest.fixture
async def both_ways(loop_app: FastAPI, metrics_app: FastAPI) -> AsyncIterator[None]:
    """loop_api's metrics client and metrics_api's loop client each talk to the other in-process app."""
    metrics_of_loop, loop_of_metrics = loop_app.state.metrics, metrics_app.state.case_figures.loop
    held = metrics_of_loop.http, loop_of_metrics.http
    async with client_for(metrics_app, "metrics") as metrics, client_for(loop_app, "loop") as loop:
        metrics_of_loop.http, loop_of_metrics.http = metrics, loop
        yield
    metrics_of_loop.http, loop_of_metrics.http = held


async def active_plan(client: httpx.AsyncClient, headers: dict[str, str], units: list[str]) -> dict[str, Any]:
    body = {"title": "Faster delivery", "problem": "Late", "owner": "carla", "metric": "nps", "starts_on": STARTS}
    plan = await ok(
        await client.post("/v1/action-plans", json={**body, "scope": {"units": units}}, headers=headers), 201
    )
    url = f"/v1/action-plans/{plan['id']}"
    return await ok(await client.patch(url, json={"status": "active"}, headers={**headers, "If-Match": '"1"'}))


async def scorecard_plans(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    card = await ok(await client.get("/v1/scorecards/emea/de", headers=headers))
    return list(card["cases"]["active_plans"])


async def test_latest_effect_measured_daily_and_shown_on_scorecards(
    loop_app: FastAPI,
    metrics_app: FastAPI,
    loop_client: httpx.AsyncClient,
    metrics_client: httpx.AsyncClient,
    auth: TokenFactory,
    clock: FakeClock,
    both_ways: None,
) -> None:
    scope: tuple[Mix, Mix] = ((90, 120, 90), (120, 120, 60))  # NPS 0 -> +20
    rest: tuple[Mix, Mix] = ((105, 120, 75), (105, 120, 75))  # NPS +10 -> +10
    await plant(metrics_client, auth, "emea/de/berlin", scope)
    await plant(metrics_client, auth, "emea/fr", rest)
    headers = auth(scopes=RW)
    clock.now = TODAY
    plan = await active_plan(loop_client, headers, ["emea/de/berlin"])
    whole_org = await active_plan(loop_client, headers, [])  # no "rest" to compare with: never measured
    assert plan["latest_effect"] is None

    db, metrics = loop_app.state.db, loop_app.state.metrics
    assert await measure_effects(db, metrics, TODAY) == 1
    assert await measure_effects(db, metrics, TODAY + dt.timedelta(hours=23)) == 0  # measured less than a day ago

    effect, se, p_value = expected(scope, rest)
    shown = await ok(await loop_client.get(f"/v1/action-plans/{plan['id']}", headers=headers))
    assert shown["latest_effect"] == {
        "measured_at": "2026-06-15T08:00:00Z",
        "window_days": 90,
        "after_days": 90,
        "effect": pytest.approx(effect),
        "ci": {"low": pytest.approx(effect - 1.96 * se), "high": pytest.approx(effect + 1.96 * se), "level": 0.95},
        "p_value": pytest.approx(p_value),
        "significant": True,
        "reason": None,
    }
    assert effect == pytest.approx(20.0)
    plans = {p["id"]: p for p in await scorecard_plans(metrics_client, auth(scopes="metrics:read"))}
    assert plans[plan["id"]]["latest_effect"]["effect"] == pytest.approx(effect)
    assert plans[whole_org["id"]]["latest_effect"] is None
    # Measuring is not a change of the plan: the ETag (If-Match) a planner holds stays valid.
    assert (await loop_client.get(f"/v1/action-plans/{plan['id']}", headers=headers)).headers["etag"] == '"2"'

    restricted = auth(scopes=RW + " metrics:read", units=["emea/de"])
    assert (await ok(await loop_client.get(f"/v1/action-plans/{plan['id']}", headers=restricted)))[
        "latest_effect"
    ] is None
    metrics_app.state.case_figures.kept.clear()
    assert [p["latest_effect"] for p in await scorecard_plans(metrics_client, restricted)] == [None]


async def test_effect_kept_when_metrics_is_down_and_refreshed_by_the_default_impact(
    loop_app: FastAPI,
    loop_client: httpx.AsyncClient,
    metrics_client: httpx.AsyncClient,
    auth: TokenFactory,
    clock: FakeClock,
    both_ways: None,
) -> None:
    scope: tuple[Mix, Mix] = ((60, 0, 40), (70, 0, 30))
    await plant(metrics_client, auth, "emea/de/berlin", scope)
    await plant(metrics_client, auth, "emea/fr", scope)  # both rose alike: effect 0
    headers = auth(scopes=RW)
    clock.now = TODAY
    plan = await active_plan(loop_client, headers, ["emea/de/berlin"])
    # Asking for the default impact (90 days, the rest of the org) with the whole org in view keeps it.
    impact = await ok(await loop_client.get(f"/v1/action-plans/{plan['id']}/impact", headers=headers))
    kept = (await ok(await loop_client.get(f"/v1/action-plans/{plan['id']}", headers=headers)))["latest_effect"]
    assert kept["effect"] == pytest.approx(0.0) and impact["effect"] == pytest.approx(0.0)
    assert (kept["significant"], kept["measured_at"]) == (False, "2026-06-15T08:00:00Z")
    # A day later metrics_api is unreachable: nothing is measured and the last effect stays.
    loop_app.state.metrics.http = httpx.AsyncClient(base_url="http://127.0.0.1:9", timeout=0.5)
    assert await measure_effects(loop_app.state.db, loop_app.state.metrics, TODAY + dt.timedelta(days=2)) == 0
    still = (await ok(await loop_client.get(f"/v1/action-plans/{plan['id']}", headers=headers)))["latest_effect"]
    assert still == kept


async def test_overdue_tasks_follow_the_orgs_time_zone(
    loop_app: FastAPI, loop_client: httpx.AsyncClient, auth: TokenFactory, clock: FakeClock
) -> None:
    zones = {"auckland": "Pacific/Auckland", "la": "America/Los_Angeles", "utc": "UTC"}
    plans: dict[str, str] = {}
    for org, zone in zones.items():
        settings = {"business_hours": {"timezone": zone}}
        await ok(await loop_client.put("/v1/org-settings", json=settings, headers=auth(org=org, scopes="admin")))
        body = {"title": "T", "problem": "P", "owner": "o", "metric": "nps", "starts_on": STARTS}
        body["tasks"] = [{"title": "Due Thursday", "owner": "dan", "due_on": "2026-03-05"}]
        created = await ok(await loop_client.post("/v1/action-plans", json=body, headers=auth(org=org, scopes=RW)), 201)
        plans[org] = created["id"]

    async def overdue(org: str) -> bool:
        plan = await ok(await loop_client.get(f"/v1/action-plans/{plans[org]}", headers=auth(org=org, scopes=RW)))
        return bool(plan["tasks"][0]["overdue"])

    db = loop_app.state.db
    clock.now = dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC)  # Friday 01:00 in Auckland; Thursday elsewhere
    assert [await overdue(org) for org in zones] == [True, False, False]
    assert await sweep(db, clock.now) == 1
    clock.now = dt.datetime(2026, 3, 6, 5, tzinfo=dt.UTC)  # Friday in UTC; still Thursday 21:00 in Los Angeles
    assert [await overdue(org) for org in zones] == [True, False, True]
    assert await sweep(db, clock.now) == 1
    clock.now = dt.datetime(2026, 3, 6, 9, tzinfo=dt.UTC)  # Friday 01:00 in Los Angeles
    assert [await overdue(org) for org in zones] == [True, True, True]
    assert await sweep(db, clock.now) == 1
    assert await sweep(db, clock.now + dt.timedelta(days=1)) == 0
