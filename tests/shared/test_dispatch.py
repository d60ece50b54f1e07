"""The outbox dispatcher: at least once to every subscriber, retries alone what failed, shares the outbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import select

from services.survey_api.models import OutboxEvent
from shared import events as ev
from shared.auth import ServicePrincipal, TokenVerifier
from shared.db import utcnow
from shared.dispatch import Dispatcher
from shared.outbox import add_event
from tests.conftest import common_settings


class Subscriber:
    """A fake subscriber: records what it is sent and answers with a status it is told."""

    def __init__(self, status: int = 200, error: Exception | None = None) -> None:
        self.status, self.error = status, error
        self.received: list[str] = []
        self.tokens: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.error is not None:
            raise self.error
        if self.status < 300:
            self.received += [e["id"] for e in json.loads(request.content)["events"]]
            self.tokens.append(request.headers["authorization"].removeprefix("Bearer "))
        return httpx.Response(self.status, json={})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handler), base_url="http://subscriber")


def dispatcher(app: FastAPI, subscribers: dict[str, Subscriber], **options: Any) -> Dispatcher:
    clients = {name: s.client() for name, s in subscribers.items()}
    local = {"webhooks": app.state.webhooks.fan_out}
    return Dispatcher(
        db=app.state.db,
        table=OutboxEvent,
        settings=common_settings(),
        source="survey",
        clients=clients,
        local=local,
        **options,
    )


async def emit(app: FastAPI, count: int = 1, event_type: str = ev.RESPONSE_COMPLETED) -> list[str]:
    ids = []
    async with app.state.db.sessions() as session, session.begin():
        for i in range(count):
            envelope = ev.EventEnvelope(type=event_type, org="acme", source="survey_api", data={"n": i})
            add_event(session, OutboxEvent, envelope)
            ids.append(envelope.id)
    return ids


async def rows(app: FastAPI) -> list[OutboxEvent]:
    async with app.state.db.sessions() as session:
        return list((await session.exec(select(OutboxEvent).order_by(OutboxEvent.id))).all())


async def make_due(app: FastAPI) -> None:
    """Let time pass: every pending row is due again."""
    async with app.state.db.sessions() as session, session.begin():
        await session.exec(update(OutboxEvent).values(available_at=utcnow() - dt.timedelta(seconds=1)))  # type: ignore[call-overload]


async def test_every_subscriber_gets_each_event_once(survey_app: FastAPI) -> None:
    metrics, loop = Subscriber(), Subscriber()
    ids = await emit(survey_app, 3)
    delivered = await dispatcher(survey_app, {"metrics": metrics, "loop": loop}).drain_once()
    assert delivered == 3
    assert metrics.received == ids and loop.received == ids
    assert {(r.status, tuple(r.destinations)) for r in await rows(survey_app)} == {("delivered", ())}
    assert await dispatcher(survey_app, {"metrics": metrics, "loop": loop}).drain_once() == 0
    caller = TokenVerifier(common_settings()).identify(metrics.tokens[0])
    assert caller == ServicePrincipal(service="survey_api", scopes=frozenset({"events:write"}))


async def test_events_only_webhooks_may_want_go_to_the_local_stop(survey_app: FastAPI) -> None:
    await emit(survey_app, 1, event_type="survey.published")
    [row] = await rows(survey_app)
    assert (row.status, row.destinations) == ("pending", ["webhooks"])
    assert await dispatcher(survey_app, {}).drain_once() == 1
    [row] = await rows(survey_app)
    assert (row.status, row.destinations) == ("delivered", [])


async def test_a_failing_subscriber_is_retried_alone(survey_app: FastAPI) -> None:
    metrics, loop = Subscriber(), Subscriber(status=503)
    [event_id] = await emit(survey_app)
    await dispatcher(survey_app, {"metrics": metrics, "loop": loop}).drain_once()
    [row] = await rows(survey_app)
    assert (row.status, row.destinations, row.attempts) == ("pending", ["loop"], 1)  # metrics and webhooks done
    assert row.last_error is not None and row.last_error.startswith("loop: HTTP 503")
    assert row.available_at > utcnow()  # backing off
    assert await dispatcher(survey_app, {"metrics": metrics, "loop": loop}).drain_once() == 0  # not due yet
    loop.status = 200
    await make_due(survey_app)
    await dispatcher(survey_app, {"metrics": metrics, "loop": loop}).drain_once()
    [row] = await rows(survey_app)
    assert row.status == "delivered"
    assert metrics.received == [event_id] and loop.received == [event_id]


async def test_unreachable_subscriber_then_dead_letter(survey_app: FastAPI) -> None:
    down = Subscriber(error=httpx.ConnectError("refused"))
    await emit(survey_app)
    for _ in range(3):
        await dispatcher(survey_app, {"metrics": down, "loop": down}, max_attempts=3).drain_once()
        await make_due(survey_app)
    [row] = await rows(survey_app)
    assert (row.status, row.attempts) == ("dead", 3)
    assert "ConnectError" in (row.last_error or "")
    assert await dispatcher(survey_app, {"metrics": Subscriber(), "loop": Subscriber()}).drain_once() == 0


async def test_a_crashed_claim_comes_back_after_its_lease(survey_app: FastAPI) -> None:
    metrics, loop = Subscriber(), Subscriber()
    await emit(survey_app)
    crashed = dispatcher(survey_app, {"metrics": metrics, "loop": loop})
    assert len(await crashed._claim()) == 1  # claimed, then the process died before recording anything
    assert await dispatcher(survey_app, {"metrics": metrics, "loop": loop}).drain_once() == 0
    await make_due(survey_app)  # the lease ran out
    assert await dispatcher(survey_app, {"metrics": metrics, "loop": loop}).drain_once() == 1
    assert len(metrics.received) == 1


async def test_two_dispatchers_share_the_outbox(survey_app: FastAPI) -> None:
    ids = await emit(survey_app, 300)
    metrics, loop = Subscriber(), Subscriber()

    async def drain(worker: Dispatcher) -> None:
        while await worker.drain_once():
            continue

    workers = [dispatcher(survey_app, {"metrics": metrics, "loop": loop}, batch_size=25) for _ in range(2)]
    await asyncio.gather(*(drain(w) for w in workers))
    assert Counter(metrics.received) == Counter(ids) and Counter(loop.received) == Counter(ids)
    assert {r.status for r in await rows(survey_app)} == {"delivered"}


@pytest.mark.parametrize("attempts", [1, 3, 8, 30])
def test_backoff_is_capped_at_30_seconds(attempts: int) -> None:
    from shared.dispatch import backoff

    delays = [backoff(attempts).total_seconds() for _ in range(50)]
    ceiling = min(30.0, 0.5 * 2 ** (attempts - 1))
    assert all(ceiling / 2 <= d <= ceiling for d in delays)


async def test_admin_sees_dead_events_and_retries_them(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: Any
) -> None:
    down = Subscriber(status=500)
    [event_id] = await emit(survey_app)
    await dispatcher(survey_app, {"metrics": down, "loop": down}, max_attempts=1).drain_once()
    admin = auth(scopes="admin")
    dead = (await survey_client.get("/v1/admin/outbox", params={"status": "dead"}, headers=admin)).json()
    assert [(e["id"], e["status"], e["destinations"]) for e in dead["items"]] == [
        (event_id, "dead", ["metrics", "loop"])
    ]
    assert (await survey_client.get("/v1/admin/outbox", headers=auth(org="globex", scopes="admin"))).json()[
        "items"
    ] == []
    assert (await survey_client.get("/v1/admin/outbox", headers=auth(scopes="surveys:read"))).status_code == 403
    retried = await survey_client.post(f"/v1/admin/outbox/{event_id}/retry", headers=admin)
    assert (retried.status_code, retried.json()["status"], retried.json()["attempts"]) == (200, "pending", 0)
    up = Subscriber()
    assert await dispatcher(survey_app, {"metrics": up, "loop": up}).drain_once() == 1
    assert (await survey_client.post(f"/v1/admin/outbox/{event_id}/retry", headers=admin)).status_code == 409
    assert (await survey_client.post("/v1/admin/outbox/evt_x/retry", headers=admin)).status_code == 404


async def test_event_feed_pages_through_settled_events(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: Any
) -> None:
    ids = await emit(survey_app, 5)
    fresh = await emit(survey_app, 1)
    async with survey_app.state.db.sessions() as session, session.begin():
        await session.exec(  # type: ignore[call-overload]
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids))  # type: ignore[attr-defined]
            .values(occurred_at=utcnow() - dt.timedelta(minutes=1))
        )
    service = auth(org="system", scopes="events:write")
    seen, cursor = [], None
    for _ in range(5):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await survey_client.get("/internal/v1/events", params=params, headers=service)).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not page["items"]:
            break
    assert seen == ids  # the event still settling is not shown yet
    assert fresh[0] not in seen and cursor is not None
    assert (await survey_client.get("/internal/v1/events", headers=auth(scopes="admin"))).status_code == 403
