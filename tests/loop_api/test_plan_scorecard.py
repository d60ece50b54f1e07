"""A unit's scorecard (metrics_api) shows its active action plans, asked of loop_api with its case figures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import TokenFactory, client_for
from tests.loop_api.helpers import FakeClock, ok

RW = "plans:read plans:write"


@pytest.fixture
async def loop_wired(metrics_app: FastAPI, loop_app: FastAPI) -> AsyncIterator[None]:
    """metrics_api's loop client talks to the in-process loop_api."""
    loop_api = metrics_app.state.case_figures.loop
    held = loop_api.http
    async with client_for(loop_app, "loop") as loop:
        loop_api.http = loop
        yield
    loop_api.http = held


async def plan(client: httpx.AsyncClient, headers: dict[str, str], unit: str, status: str, **extra: Any) -> str:
    body = {"title": f"Plan {unit}", "problem": "P", "owner": "carla", "metric": "nps", "starts_on": "2026-03-09"}
    created = await ok(
        await client.post("/v1/action-plans", json={**body, "scope": {"units": [unit]}, **extra}, headers=headers), 201
    )
    if status != "proposed":
        url = f"/v1/action-plans/{created['id']}"
        await ok(await client.patch(url, json={"status": status}, headers={**headers, "If-Match": '"1"'}))
    return str(created["id"])


async def test_scorecard_lists_the_units_active_plans(
    metrics_client: httpx.AsyncClient,
    loop_client: httpx.AsyncClient,
    auth: TokenFactory,
    clock: FakeClock,
    loop_wired: None,
) -> None:
    headers = auth(scopes=RW)
    tasks = [{"title": "Late already", "owner": "dan", "due_on": "2026-02-20"}]
    berlin = await plan(loop_client, headers, "emea/de/berlin", "active", tasks=tasks)
    await plan(loop_client, headers, "emea/de/berlin", "proposed")
    await plan(loop_client, headers, "emea/fr", "active")
    card = await ok(await metrics_client.get("/v1/scorecards/emea/de", headers=auth(scopes="metrics:read")))
    assert card["degraded"] == []
    assert card["cases"]["active_plans"] == [
        {
            "id": berlin,
            "title": "Plan emea/de/berlin",
            "status": "active",
            "owner": "carla",
            "starts_on": "2026-03-09",
            "overdue_tasks": 1,
            "latest_effect": None,  # not measured yet
        }
    ]
