"""Outgoing webhooks: signed the Standard Webhooks way, full payload, retried, disabled, never to private hosts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from sqlmodel import select

from services.survey_api.models import Webhook, WebhookDelivery
from shared import events as ev
from shared.db import utcnow
from shared.dispatch import Dispatcher
from shared.outbox import add_event
from shared.webhooks.signing import sign, verify
from tests.conftest import TokenFactory, common_settings

ADMIN = {"scopes": "admin"}


def test_signature_matches_the_standard_webhooks_example() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    signature = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, f"v1,bogus {signature}")
    assert not verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265331, body, signature)


class Receiver:
    """A webhook receiver that answers the statuses it is given, in turn."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses) or [200]
        self.requests: list[httpx.Request] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return httpx.Response(status)


def wire(app: FastAPI, receiver: Receiver, *, allow_private: bool = True) -> None:
    hooks = app.state.webhooks
    hooks.client = httpx.AsyncClient(transport=httpx.MockTransport(receiver.handler))
    hooks.allow_private = allow_private
    app.state.settings.webhooks_allow_private = allow_private


async def emit(app: FastAPI, event_type: str = ev.RESPONSE_COMPLETED, **data: Any) -> str:
    async with app.state.db.sessions() as session, session.begin():
        envelope = ev.EventEnvelope(type=event_type, org="acme", source="survey_api", data=data)
        add_event(session, app.state.dispatcher.table, envelope)
    down = httpx.AsyncClient(transport=httpx.MockTransport(lambda _r: httpx.Response(200)), base_url="http://peer")
    dispatcher = Dispatcher(
        db=app.state.db,
        table=app.state.dispatcher.table,
        settings=common_settings(),
        source="survey",
        clients={"metrics": down, "loop": down},
        local={"webhooks": app.state.webhooks.fan_out},
    )
    await dispatcher.drain_once()
    return envelope.id


async def subscribe(client: httpx.AsyncClient, auth: TokenFactory, **body: Any) -> dict[str, Any]:
    payload = {"url": "http://127.0.0.1:9/hook", "event_types": ["response.*"], **body}
    response = await client.post("/v1/webhooks", json=payload, headers=auth(**ADMIN))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def due_now(app: FastAPI) -> None:
    async with app.state.db.sessions() as session, session.begin():
        await session.exec(update(WebhookDelivery).values(next_attempt_at=utcnow()))  # type: ignore[call-overload]


class TestWebhooks:
    async def test_unauthenticated_and_missing_scope(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        assert (await survey_client.get("/v1/webhooks")).status_code == 401
        assert (await survey_client.get("/v1/webhooks", headers=auth(scopes="surveys:write"))).status_code == 403

    async def test_other_tenant_and_not_found(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        wire(survey_app, Receiver())
        hook = await subscribe(survey_client, auth)
        other = auth(org="globex", scopes="admin")
        assert (await survey_client.get(f"/v1/webhooks/{hook['id']}", headers=other)).status_code == 404
        assert (await survey_client.get("/v1/webhooks/wh_missing", headers=auth(**ADMIN))).status_code == 404

    async def test_secret_is_shown_once(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        wire(survey_app, Receiver())
        hook = await subscribe(survey_client, auth)
        assert hook["secret"].startswith("whsec_")
        listed = (await survey_client.get("/v1/webhooks", headers=auth(**ADMIN))).json()["items"]
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/hook",
            "http://localhost:8080/x",
            "http://169.254.169.254/latest/meta-data",
            "http://10.1.2.3/x",
            "http://[::1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "ftp://example.com/x",
            "http://user:pw@example.com/x",
            "not a url at all",
            "http://127.0.0.1:99999/",
            "http://[::1/",
            "http://[1::",
            "http://[2002:7f00:1::1]/x",  # 6to4 of 127.0.0.1
            "http://[2002:808:808::1]/x",  # 6to4 of a public address: the whole range is refused
            "http://[64:ff9b::a00:1]/x",  # NAT64 of 10.0.0.1
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x",  # Teredo
            "http://[::7f00:1]/x",  # IPv4-compatible 127.0.0.1
        ],
    )
    async def test_private_and_odd_targets_are_refused(
        self, url: str, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        response = await survey_client.post(
            "/v1/webhooks", json={"url": url, "event_types": ["*"]}, headers=auth(**ADMIN)
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "url"

    async def test_signed_full_payload_delivered(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        receiver = Receiver(200)
        wire(survey_app, receiver)
        hook = await subscribe(survey_client, auth)
        event_id = await emit(survey_app, survey_id="s1", answers={"nps": 3})
        await emit(survey_app, "invitation.sent", survey_id="s1")  # not subscribed
        assert await survey_app.state.webhooks.deliver_due() == 1
        [request] = receiver.requests
        body = json.loads(request.content)
        assert (body["type"], body["id"], body["data"]["answers"]) == ("response.completed", event_id, {"nps": 3})
        assert request.headers["webhook-id"] == event_id
        timestamp = int(request.headers["webhook-timestamp"])
        assert abs(timestamp - utcnow().timestamp()) < 60
        assert verify(hook["secret"], event_id, timestamp, request.content, request.headers["webhook-signature"])
        deliveries = (await survey_client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth(**ADMIN))).json()
        assert [(d["status"], d["attempts"], d["last_status_code"]) for d in deliveries["items"]] == [
            ("delivered", 1, 200)
        ]

    async def test_survey_filter(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        receiver = Receiver(200)
        wire(survey_app, receiver)
        await subscribe(survey_client, auth, survey_id="s2", event_types=["response.completed"])
        await emit(survey_app, survey_id="s1")
        await emit(survey_app, survey_id="s2")
        await survey_app.state.webhooks.deliver_due()
        assert [json.loads(r.content)["data"]["survey_id"] for r in receiver.requests] == ["s2"]

    async def test_failures_are_retried_with_backoff(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        receiver = Receiver(500, 503, 200)
        wire(survey_app, receiver)
        hook = await subscribe(survey_client, auth)
        await emit(survey_app)
        await survey_app.state.webhooks.deliver_due()
        assert await survey_app.state.webhooks.deliver_due() == 0  # backing off
        await due_now(survey_app)
        await survey_app.state.webhooks.deliver_due()
        await due_now(survey_app)
        await survey_app.state.webhooks.deliver_due()
        deliveries = (await survey_client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth(**ADMIN))).json()
        assert [(d["status"], d["attempts"]) for d in deliveries["items"]] == [("delivered", 3)]
        assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # the same message id each time
        assert (await survey_client.get(f"/v1/webhooks/{hook['id']}", headers=auth(**ADMIN))).json()[
            "failing_since"
        ] is None

    async def test_410_disables_at_once(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        wire(survey_app, Receiver(410))
        hook = await subscribe(survey_client, auth)
        await emit(survey_app)
        await survey_app.state.webhooks.deliver_due()
        shown = (await survey_client.get(f"/v1/webhooks/{hook['id']}", headers=auth(**ADMIN))).json()
        assert shown["active"] is False and "410" in shown["disabled_reason"]
        await emit(survey_app)  # a disabled webhook is owed nothing new
        async with survey_app.state.db.sessions() as session:
            assert len((await session.exec(select(WebhookDelivery))).all()) == 1
        enabled = await survey_client.post(f"/v1/webhooks/{hook['id']}/enable", headers=auth(**ADMIN))
        assert enabled.json()["active"] is True

    async def test_failing_too_long_disables(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        wire(survey_app, Receiver(500))
        hook = await subscribe(survey_client, auth)
        await emit(survey_app)
        async with survey_app.state.db.sessions() as session, session.begin():
            await session.exec(  # type: ignore[call-overload]
                update(Webhook).values(failing_since=utcnow() - dt.timedelta(hours=100))
            )
        await survey_app.state.webhooks.deliver_due()
        shown = (await survey_client.get(f"/v1/webhooks/{hook['id']}", headers=auth(**ADMIN))).json()
        assert shown["active"] is False and shown["disabled_reason"].startswith("failing since")

    async def test_delivery_time_check_refuses_private_targets(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        receiver = Receiver(200)
        wire(survey_app, receiver)
        hook = await subscribe(survey_client, auth)
        survey_app.state.webhooks.allow_private = False  # the setting changed, or DNS now points inside
        await emit(survey_app)
        await survey_app.state.webhooks.deliver_due()
        assert receiver.requests == []
        deliveries = (await survey_client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth(**ADMIN))).json()
        assert "non-public" in deliveries["items"][0]["last_error"]

    async def test_delivery_connects_to_the_checked_address(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory, monkeypatch: Any
    ) -> None:
        answers = [["93.184.216.34"]]  # what the name resolves to when the webhook is created

        async def resolve(host: str, port: int) -> list[str]:
            assert host == "hooks.example.com"
            return answers[0]

        monkeypatch.setattr("shared.webhooks.ssrf.resolve", resolve)
        receiver = Receiver(200)
        wire(survey_app, receiver, allow_private=False)
        await subscribe(survey_client, auth, url="https://hooks.example.com:8443/in")
        await emit(survey_app)
        await survey_app.state.webhooks.deliver_due()
        [sent] = receiver.requests
        assert (sent.url.host, sent.url.port, sent.url.path) == ("93.184.216.34", 8443, "/in")
        assert sent.headers["host"] == "hooks.example.com:8443"
        assert sent.extensions["sni_hostname"] == "hooks.example.com"
        answers[0] = ["93.184.216.34", "127.0.0.1"]  # rebinding: the name now also points inside
        await emit(survey_app)
        await survey_app.state.webhooks.deliver_due()
        assert len(receiver.requests) == 1

    async def test_delete_stops_delivery(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        receiver = Receiver(200)
        wire(survey_app, receiver)
        hook = await subscribe(survey_client, auth)
        await emit(survey_app)
        assert (await survey_client.delete(f"/v1/webhooks/{hook['id']}", headers=auth(**ADMIN))).status_code == 204
        assert await survey_app.state.webhooks.deliver_due() == 0
        assert receiver.requests == []
