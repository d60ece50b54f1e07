"""loop_api's webhooks follow cases and plans: case.opened, case.assigned, case.status_changed, case.closed,
plan.created and plan.status_changed, delivered signed from loop_api's outbox."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI

from shared.dispatch import Dispatcher
from tests.conftest import TokenFactory, common_settings
from tests.loop_api.helpers import RW, FakeClock, ok, open_case, root_cause, step


class Receiver:
    """A webhook receiver that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.messages.append(json.loads(request.content))
        assert request.headers["webhook-signature"].startswith("v1,")
        return httpx.Response(200)


async def deliver(app: FastAPI) -> None:
    """Drain loop_api's outbox (its peers answer 200) and send the webhooks' deliveries."""
    peers = httpx.AsyncClient(transport=httpx.MockTransport(lambda _r: httpx.Response(200)), base_url="http://peer")
    dispatcher = Dispatcher(
        db=app.state.db,
        table=app.state.dispatcher.table,
        settings=common_settings(),
        source="loop",
        clients={"survey": peers, "metrics": peers},
        local={"webhooks": app.state.webhooks.fan_out},
    )
    await dispatcher.drain_once()
    await app.state.webhooks.deliver_due()


def wire(app: FastAPI) -> Receiver:
    receiver = Receiver()
    app.state.webhooks.client = httpx.AsyncClient(transport=httpx.MockTransport(receiver.handler))
    app.state.webhooks.allow_private = True
    app.state.settings.webhooks_allow_private = True
    return receiver


async def subscribe(client: httpx.AsyncClient, auth: TokenFactory, *patterns: str) -> None:
    body = {"url": "http://127.0.0.1:9/hook", "event_types": list(patterns)}
    await ok(await client.post("/v1/webhooks", json=body, headers=auth(scopes="admin")), 201)


async def test_a_case_webhook_hears_a_case_open_and_close(
    loop_app: FastAPI, loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    receiver = wire(loop_app)
    await subscribe(loop_client, auth, "case.*")
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    case = await open_case(loop_client, service, headers, unit="emea/de/berlin", submitted_at=clock.now)
    await step(loop_client, headers, case["id"], owner="alice")
    await step(loop_client, headers, case["id"], status="in_progress")
    await step(loop_client, headers, case["id"], status="resolved")
    await step(
        loop_client, headers, case["id"], status="closed", root_causes=["delivery"], resolution="x", outcome="recovered"
    )
    await deliver(loop_app)
    # Webhooks promise at least once, not an order: the set of messages is what counts.
    assert sorted(m["type"] for m in receiver.messages) == [
        "case.assigned",
        "case.closed",
        "case.opened",
        "case.status_changed",
        "case.status_changed",
        "case.status_changed",
    ]
    by_type = {m["type"]: m for m in receiver.messages}
    opened, closed = by_type["case.opened"], by_type["case.closed"]
    assert (opened["org"], opened["data"]["case_id"], opened["data"]["status"]) == ("acme", case["id"], "open")
    assert opened["data"]["unit"] == "emea/de/berlin"
    assert closed["data"]["status"] == "closed" and closed["data"]["previous_status"] == "resolved"
    assert (closed["data"]["root_causes"], closed["data"]["outcome"], closed["data"]["owner"]) == (
        ["delivery"],
        "recovered",
        "alice",
    )


async def test_a_plan_webhook_hears_plans(
    loop_app: FastAPI, loop_client: httpx.AsyncClient, auth: TokenFactory, clock: FakeClock
) -> None:
    receiver = wire(loop_app)
    await subscribe(loop_client, auth, "plan.*")
    headers = auth(scopes="plans:read plans:write")
    body = {"title": "T", "problem": "P", "owner": "carla", "metric": "nps", "starts_on": "2026-03-09"}
    plan = await ok(await loop_client.post("/v1/action-plans", json=body, headers=headers), 201)
    url = f"/v1/action-plans/{plan['id']}"
    await ok(await loop_client.patch(url, json={"status": "active"}, headers={**headers, "If-Match": '"1"'}))
    await deliver(loop_app)
    assert sorted((m["type"], m["data"]["status"], m["data"]["previous_status"]) for m in receiver.messages) == [
        ("plan.created", "proposed", None),
        ("plan.status_changed", "active", "proposed"),
    ]
