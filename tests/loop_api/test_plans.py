"""Action plans: create, read, change under If-Match, tasks, overdue once, filters, unit-restricted access."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from services.loop_api.cases.sweeper import sweep
from services.loop_api.models import OutboxEvent
from tests.conftest import TokenFactory
from tests.loop_api.helpers import FakeClock, ok, problem, root_cause

RW = "plans:read plans:write cases:read cases:write"
TODAY = dt.date(2026, 3, 2)  # the FakeClock's MONDAY


def plan_body(**overrides: Any) -> dict[str, Any]:
    """A plan on Berlin's delivery, with two tasks."""
    body: dict[str, Any] = {
        "title": "Fix late deliveries in Berlin",
        "problem": "Late delivery keeps coming up in Berlin",
        "root_causes": ["delivery.late"],
        "scope": {"units": ["emea/de/berlin"], "touchpoint_ids": ["tp_1"]},
        "owner": "carla",
        "metric": "nps",
        "target": 40,
        "starts_on": "2026-03-09",
        "tasks": [
            {"title": "New courier contract", "owner": "dan", "due_on": "2026-03-05"},
            {"title": "Weekly review", "owner": "eve", "due_on": "2026-03-20", "status": "doing"},
        ],
    }
    return {**body, **overrides}


@pytest.fixture
async def headers(loop_client: httpx.AsyncClient, auth: TokenFactory, clock: FakeClock) -> dict[str, str]:
    """A planner's headers, with the taxonomy in place."""
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    await root_cause(loop_client, headers, "delivery.late", parent_code="delivery")
    await root_cause(loop_client, headers, "price")
    return headers


async def create(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> httpx.Response:
    return await client.post("/v1/action-plans", json=plan_body(**overrides), headers=headers)


async def patch(client: httpx.AsyncClient, headers: dict[str, str], plan_id: str, **body: Any) -> httpx.Response:
    current = await client.get(f"/v1/action-plans/{plan_id}", headers=headers)
    return await client.patch(
        f"/v1/action-plans/{plan_id}", json=body, headers={**headers, "If-Match": current.headers["etag"]}
    )


class TestCreate:
    async def test_valid(self, loop_client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        response = await create(loop_client, headers)
        plan = await ok(response, 201)
        assert response.headers["etag"] == '"1"'
        assert (plan["status"], plan["owner"], plan["metric"], plan["starts_on"]) == (
            "proposed",
            "carla",
            "nps",
            "2026-03-09",
        )
        assert plan["scope"] == {"units": ["emea/de/berlin"], "touchpoint_ids": ["tp_1"], "survey_id": None}
        assert [(t["title"], t["status"], t["overdue"]) for t in plan["tasks"]] == [
            ("New courier contract", "todo", False),
            ("Weekly review", "doing", False),
        ]
        detail = await ok(await loop_client.get(f"/v1/action-plans/{plan['id']}", headers=headers))
        assert [e["kind"] for e in detail["timeline"]] == ["created"]

    async def test_idempotency_key_replays(self, loop_client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        keyed = {**headers, "Idempotency-Key": "plan-1"}
        first = await ok(await create(loop_client, keyed), 201)
        again = await ok(await create(loop_client, keyed), 201)
        assert again["id"] == first["id"]
        page = await ok(await loop_client.get("/v1/action-plans", headers=headers))
        assert len(page["items"]) == 1

    async def test_invalid(self, loop_client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        problem(await create(loop_client, headers, root_causes=["nothing"]), 422)
        problem(await create(loop_client, headers, metric="ces2"), 422)
        problem(await create(loop_client, headers, scope={"units": ["Not A Path"]}), 422)
        problem(await create(loop_client, headers, extra=1), 422)

    async def test_missing_scope(self, loop_client: httpx.AsyncClient, auth: TokenFactory, clock: FakeClock) -> None:
        problem(await create(loop_client, auth(scopes="plans:read")), 403)
        problem(await loop_client.get("/v1/action-plans", headers=auth(scopes="cases:read")), 403)
        problem(await loop_client.get("/v1/action-plans"), 401)


class TestIfMatch:
    async def test_etag_and_status_machine(self, loop_client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        plan = await ok(await create(loop_client, headers), 201)
        url = f"/v1/action-plans/{plan['id']}"
        problem(await loop_client.patch(url, json={"status": "active"}, headers=headers), 428)
        stale = {**headers, "If-Match": '"0"'}
        problem(await loop_client.patch(url, json={"status": "active"}, headers=stale), 412)
        problem(await patch(loop_client, headers, plan["id"], status="done"), 409)
        response = await patch(loop_client, headers, plan["id"], status="active", target=45)
        assert (await ok(response))["status"] == "active"
        assert response.headers["etag"] == '"2"'
        problem(await patch(loop_client, headers, plan["id"], status="proposed"), 409)
        unchanged = await patch(loop_client, headers, plan["id"], status="active")
        assert unchanged.headers["etag"] == '"2"'
        await ok(await patch(loop_client, headers, plan["id"], status="done"))
        problem(await patch(loop_client, headers, plan["id"], status="dropped"), 409)
        detail = await ok(await loop_client.get(url, headers=headers))
        assert [(e["kind"], e["data"]) for e in detail["timeline"][1:]] == [
            ("target_changed", {"from": 40.0, "to": 45}),
            ("status_changed", {"from": "proposed", "to": "active"}),
            ("status_changed", {"from": "active", "to": "done"}),
        ]

    async def test_unknown_and_other_tenant(
        self, loop_client: httpx.AsyncClient, headers: dict[str, str], auth: TokenFactory
    ) -> None:
        plan = await ok(await create(loop_client, headers), 201)
        problem(await loop_client.get("/v1/action-plans/plan_nope", headers=headers), 404)
        problem(await loop_client.get(f"/v1/action-plans/{plan['id']}", headers=auth(org="other", scopes=RW)), 404)


class TestTasks:
    async def test_add_change_and_overdue(
        self, loop_client: httpx.AsyncClient, headers: dict[str, str], clock: FakeClock
    ) -> None:
        plan = await ok(await create(loop_client, headers, tasks=[]), 201)
        url = f"/v1/action-plans/{plan['id']}/tasks"
        response = await loop_client.post(
            url, json={"title": "Call DHL", "owner": "dan", "due_on": "2026-03-03"}, headers=headers
        )
        task = await ok(response, 201)
        assert response.headers["etag"] == '"2"'
        clock.now += dt.timedelta(days=2)  # Wednesday: the task was due Tuesday
        listed = await ok(await loop_client.get(f"/v1/action-plans/{plan['id']}", headers=headers))
        assert ([t["overdue"] for t in listed["tasks"]], listed["overdue_tasks"]) == ([True], 1)
        done = await ok(await loop_client.patch(f"{url}/{task['id']}", json={"status": "done"}, headers=headers))
        assert (done["status"], done["overdue"], done["done_at"] is not None) == ("done", False, True)
        problem(await loop_client.patch(f"{url}/task_nope", json={"status": "done"}, headers=headers), 404)
        problem(await loop_client.patch(f"{url}/{task['id']}", json={"status": None}, headers=headers), 422)

    async def test_overdue_event_once_with_two_sweepers(
        self, loop_client: httpx.AsyncClient, loop_app: FastAPI, headers: dict[str, str], clock: FakeClock
    ) -> None:
        plan = await ok(await create(loop_client, headers), 201)
        dropped = await ok(await create(loop_client, headers), 201)
        await ok(await patch(loop_client, headers, dropped["id"], status="dropped"))
        db = loop_app.state.db
        assert await sweep(db, clock.now + dt.timedelta(days=3)) == 0  # due Thursday 5th: not yet overdue on the 5th
        later = clock.now + dt.timedelta(days=4)
        counts = await asyncio.gather(sweep(db, later), sweep(db, later))
        assert sum(counts) == 1
        assert await sweep(db, later + dt.timedelta(days=1)) == 0
        events = await overdue_events(loop_app)
        assert len(events) == 1
        data = events[0].payload["data"]
        assert (data["plan_id"], data["title"], data["owner"], data["due_on"]) == (
            plan["id"],
            "New courier contract",
            "dan",
            "2026-03-05",
        )
        assert events[0].destinations == ["webhooks"]
        # A later due day that passes again is news again.
        task_id = plan["tasks"][0]["id"]
        url = f"/v1/action-plans/{plan['id']}/tasks/{task_id}"
        await ok(await loop_client.patch(url, json={"due_on": "2026-03-10"}, headers=headers))
        assert await sweep(db, dt.datetime(2026, 3, 11, 8, tzinfo=dt.UTC)) == 1
        assert len(await overdue_events(loop_app)) == 2


async def overdue_events(app: FastAPI) -> list[OutboxEvent]:
    async with app.state.db.sessions() as session:
        statement = select(OutboxEvent).where(OutboxEvent.event_type == "plan.task_overdue")
        return list((await session.exec(statement.order_by(col(OutboxEvent.id)))).all())


class TestListAndUnits:
    async def test_filters(self, loop_client: httpx.AsyncClient, headers: dict[str, str]) -> None:
        berlin = await ok(await create(loop_client, headers), 201)
        paris = await ok(
            await create(loop_client, headers, owner="paul", root_causes=["price"], scope={"units": ["emea/fr"]}),
            201,
        )
        everywhere = await ok(await create(loop_client, headers, scope={"units": [], "touchpoint_ids": ["tp_9"]}), 201)
        await ok(await patch(loop_client, headers, paris["id"], status="active"))

        async def ids(**params: Any) -> list[str]:
            page = await ok(await loop_client.get("/v1/action-plans", params=params, headers=headers))
            return [p["id"] for p in page["items"]]

        assert await ids() == [berlin["id"], paris["id"], everywhere["id"]]
        assert await ids(status="active") == [paris["id"]]
        assert await ids(owner="paul") == [paris["id"]]
        assert await ids(root_cause="delivery") == [berlin["id"], everywhere["id"]]
        assert await ids(unit="emea/de") == [berlin["id"], everywhere["id"]]
        assert await ids(unit="emea/de/berlin/mitte") == [berlin["id"], everywhere["id"]]
        problem(await loop_client.get("/v1/action-plans", params={"status": "open"}, headers=headers), 422)

    async def test_unit_restricted_caller(
        self, loop_client: httpx.AsyncClient, headers: dict[str, str], auth: TokenFactory
    ) -> None:
        german = auth(scopes=RW, units=["emea/de"])
        problem(await create(loop_client, german, scope={"units": ["emea/fr"]}), 403)
        problem(await create(loop_client, german, scope={"units": ["emea/de/berlin", "emea/fr"]}), 403)
        problem(await create(loop_client, german, scope={"units": []}), 403)
        own = await ok(await create(loop_client, german), 201)
        wide = await ok(await create(loop_client, headers, scope={"units": ["emea/de", "emea/fr"]}), 201)
        page = await ok(await loop_client.get("/v1/action-plans", headers=german))
        assert [p["id"] for p in page["items"]] == [own["id"]]
        problem(await loop_client.get(f"/v1/action-plans/{wide['id']}", headers=german), 404)
        problem(await patch(loop_client, german, own["id"], scope={"units": ["emea"]}), 403)
