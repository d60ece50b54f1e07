"""Webhook delivery that keeps up and survives crashes: one delivery per (webhook, event) whatever is repeated,
fan-out and its outbox tick in one transaction, bounded concurrency, and every attempt listed."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.models import OutboxEvent, WebhookAttempt, WebhookDelivery
from shared import events as ev
from shared.dispatch import Dispatcher
from shared.outbox import OutboxEventFields, add_event
from tests.conftest import TokenFactory, common_settings
from tests.shared.test_webhooks import ADMIN, Receiver, due_now, subscribe, wire


def dispatcher(app: FastAPI, **local: Any) -> Dispatcher:
    """survey_api's dispatcher with peers that answer 200 and the given local stops (default: the fan-out)."""
    peers = httpx.AsyncClient(transport=httpx.MockTransport(lambda _r: httpx.Response(200)), base_url="http://peer")
    return Dispatcher(
        db=app.state.db,
        table=OutboxEvent,
        settings=common_settings(),
        source="survey",
        clients={"metrics": peers, "loop": peers},
        local=local or {"webhooks": app.state.webhooks.fan_out},
    )


async def stage(app: FastAPI, count: int) -> list[str]:
    """Commit `count` response.completed events to survey_api's outbox; their ids."""
    ids = []
    async with app.state.db.sessions() as session, session.begin():
        for n in range(count):
            envelope = ev.EventEnvelope(type=ev.RESPONSE_COMPLETED, org="acme", source="survey_api", data={"n": n})
            add_event(session, OutboxEvent, envelope)
            ids.append(envelope.id)
    return ids


async def deliveries(app: FastAPI) -> list[WebhookDelivery]:
    async with app.state.db.sessions() as session:
        return list((await session.exec(select(WebhookDelivery))).all())


async def outbox_row(app: FastAPI, event_id: str) -> OutboxEvent:
    async with app.state.db.sessions() as session:
        row = await session.get(OutboxEvent, event_id)
        assert row is not None
        return row


async def test_a_repeated_fan_out_owes_each_event_once(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    wire(survey_app, Receiver())
    first = await subscribe(survey_client, auth)
    second = await subscribe(survey_client, auth, event_types=["*"])
    ids = await stage(survey_app, 3)
    await dispatcher(survey_app).drain_once()
    # a dispatcher that crashed after fanning out but before its tick landed would send the same events again
    rows = [await outbox_row(survey_app, event_id) for event_id in ids]
    async with survey_app.state.db.sessions() as session, session.begin():
        await survey_app.state.webhooks.fan_out(session, rows)
    owed = Counter((d.webhook_id, d.event_id) for d in await deliveries(survey_app))
    assert owed == {(hook["id"], event_id): 1 for hook in (first, second) for event_id in ids}


async def test_fan_out_and_its_tick_commit_together(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    wire(survey_app, Receiver())
    await subscribe(survey_client, auth)
    [event_id] = await stage(survey_app, 1)

    async def fan_out_then_crash(session: AsyncSession, rows: Sequence[OutboxEventFields]) -> None:
        await survey_app.state.webhooks.fan_out(session, rows)
        raise RuntimeError("killed mid-transaction")

    await dispatcher(survey_app, webhooks=fan_out_then_crash).drain_once()
    assert await deliveries(survey_app) == []  # the fan-out rolled back with the tick...
    assert "webhooks" in (await outbox_row(survey_app, event_id)).destinations  # ...so the event still owes it
    await due_outbox(survey_app)
    await dispatcher(survey_app).drain_once()
    row = await outbox_row(survey_app, event_id)
    assert (row.status, row.destinations, len(await deliveries(survey_app))) == ("delivered", [], 1)


async def due_outbox(app: FastAPI) -> None:
    async with app.state.db.sessions() as session, session.begin():
        await session.exec(update(OutboxEvent).values(available_at=col(OutboxEvent.occurred_at)))  # type: ignore[call-overload]


async def test_every_attempt_is_listed_and_a_delivered_one_is_not_due_again(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    wire(survey_app, Receiver(500, 503, 200))
    hook = await subscribe(survey_client, auth)
    await stage(survey_app, 1)
    await dispatcher(survey_app).drain_once()
    for _ in range(3):
        await due_now(survey_app)
        assert await survey_app.state.webhooks.deliver_due() == 1
    listed = (await survey_client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth(**ADMIN))).json()
    [delivery] = listed["items"]
    assert (delivery["status"], delivery["attempts"], delivery["next_attempt_at"]) == ("delivered", 3, None)
    log = delivery["attempt_log"]
    assert [(a["number"], a["status_code"], a["error"]) for a in log] == [
        (1, 500, "HTTP 500"),
        (2, 503, "HTTP 503"),
        (3, 200, None),
    ]
    assert all(a["duration_ms"] >= 0 for a in log)
    assert log[0]["at"] <= log[1]["at"] <= log[2]["at"] == delivery["delivered_at"]


async def test_a_failing_delivery_shows_when_it_is_tried_next(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    wire(survey_app, Receiver(500))
    hook = await subscribe(survey_client, auth)
    await stage(survey_app, 1)
    await dispatcher(survey_app).drain_once()
    await survey_app.state.webhooks.deliver_due()
    [delivery] = (await survey_client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth(**ADMIN))).json()[
        "items"
    ]
    assert delivery["status"] == "pending" and delivery["next_attempt_at"] > delivery["attempt_log"][0]["at"]
    async with survey_app.state.db.sessions() as session:
        assert len((await session.exec(select(WebhookAttempt))).all()) == 1


class Gauge:
    """A receiver that holds each request a moment and notes how many were in flight, per webhook and overall."""

    def __init__(self) -> None:
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.received: list[str] = []

    async def handler(self, request: httpx.Request) -> httpx.Response:
        hook = request.url.path
        self.now[hook] += 1
        self.now["*"] += 1
        self.peak[hook] = max(self.peak[hook], self.now[hook])
        self.peak["*"] = max(self.peak["*"], self.now["*"])
        await asyncio.sleep(0.02)
        self.now[hook] -= 1
        self.now["*"] -= 1
        self.received.append(json.loads(request.content)["id"])
        return httpx.Response(204)


async def test_deliveries_go_out_concurrently_within_both_bounds(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    gauge = Gauge()
    hooks = survey_app.state.webhooks
    hooks.client = httpx.AsyncClient(transport=httpx.MockTransport(gauge.handler))
    hooks.allow_private = True
    survey_app.state.settings.webhooks_allow_private = True
    hooks.concurrency, hooks.per_webhook = 5, 2
    for n in range(3):
        await subscribe(survey_client, auth, url=f"http://127.0.0.1:9/hook{n}")
    ids = await stage(survey_app, 40)
    await dispatcher(survey_app).drain_once()
    stop = asyncio.Event()
    running = asyncio.create_task(hooks.run(stop, idle_seconds=0.05))
    for _ in range(600):  # bounded wait: every delivery recorded as delivered
        if all(d.status == "delivered" for d in await deliveries(survey_app)):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await running
    assert Counter(gauge.received) == {event_id: 3 for event_id in ids}  # each event once to each of 3 webhooks
    assert 1 < gauge.peak["*"] <= 5  # concurrent, within the overall bound
    assert all(gauge.peak[f"/hook{n}"] <= 2 for n in range(3))  # and within each webhook's bound
    assert all(d.next_attempt_at is None for d in await deliveries(survey_app))
