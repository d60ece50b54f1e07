"""Webhooks and outbox views honour `units`: a regional admin subscribes to, lists and retries only their units."""

from __future__ import annotations

import json
from typing import Any

import httpx
from fastapi import FastAPI

from shared import events as ev
from tests.conftest import TokenFactory
from tests.shared.test_webhooks import Receiver, emit, wire

EMEA = {"scopes": "admin", "units": ["emea"]}


async def _hook(client: httpx.AsyncClient, headers: dict[str, str], event_types: list[str]) -> dict[str, Any]:
    body = {"url": "http://127.0.0.1:9/hook", "event_types": event_types}
    response = await client.post("/v1/webhooks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_restricted_webhook_gets_only_its_units_events(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    receiver = Receiver(200)
    wire(survey_app, receiver)
    hook = await _hook(survey_client, auth(**EMEA), ["*"])
    assert hook["units"] == ["emea"]
    await emit(survey_app, survey_id="s1", unit="emea/de", answers={"nps": 9})
    await emit(survey_app, survey_id="s1", unit="emea2/x", answers={"nps": 1})  # a similarly-named sibling
    await emit(survey_app, survey_id="s1", unit="apac", answers={"nps": 2})
    await emit(survey_app, survey_id="s1", unit=None, answers={"nps": 3})
    await emit(survey_app, ev.CONTACT_ERASED, contact_id="ct_1")  # no unit path: unrestricted webhooks only
    await survey_app.state.webhooks.deliver_due()
    assert [json.loads(r.content)["data"]["unit"] for r in receiver.requests] == ["emea/de"]


async def test_unrestricted_webhook_gets_everything(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    receiver = Receiver(200)
    wire(survey_app, receiver)
    hook = await _hook(survey_client, auth(scopes="admin"), ["*"])
    assert hook["units"] is None
    await emit(survey_app, survey_id="s1", unit="apac")
    await emit(survey_app, ev.CONTACT_ERASED, contact_id="ct_1")
    await survey_app.state.webhooks.deliver_due()
    assert len(receiver.requests) == 2


async def test_lists_show_only_what_the_caller_may_see(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    wire(survey_app, Receiver(200))
    everything = await _hook(survey_client, auth(scopes="admin"), ["*"])
    apac = await _hook(survey_client, auth(scopes="admin", units=["apac"]), ["*"])
    berlin = await _hook(survey_client, auth(scopes="admin", units=["emea/de/berlin"]), ["*"])
    emea = await _hook(survey_client, auth(**EMEA), ["*"])
    listed = (await survey_client.get("/v1/webhooks", headers=auth(**EMEA))).json()["items"]
    assert sorted(h["id"] for h in listed) == sorted([berlin["id"], emea["id"]])
    for hidden in (everything, apac):
        for path in (f"/v1/webhooks/{hidden['id']}", f"/v1/webhooks/{hidden['id']}/deliveries"):
            assert (await survey_client.get(path, headers=auth(**EMEA))).status_code == 404
        assert (await survey_client.delete(f"/v1/webhooks/{hidden['id']}", headers=auth(**EMEA))).status_code == 404
    admin = (await survey_client.get("/v1/webhooks", headers=auth(scopes="admin"))).json()["items"]
    assert len(admin) == 4


async def test_outbox_view_shows_only_the_callers_units(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    wire(survey_app, Receiver(200))
    mine = await emit(survey_app, survey_id="s1", unit="emea/de")
    theirs = await emit(survey_app, survey_id="s1", unit="apac")
    erased = await emit(survey_app, ev.CONTACT_ERASED, contact_id="ct_1")
    many = [await emit(survey_app, survey_id="s1", unit="apac") for _ in range(3)]
    page = await survey_client.get("/v1/admin/outbox?limit=1", headers=auth(**EMEA))
    assert [e["id"] for e in page.json()["items"]] == [mine]
    assert page.json()["next_cursor"] is None  # the other units' events after it are skipped, not paged
    retry = await survey_client.post(f"/v1/admin/outbox/{theirs}/retry", headers=auth(**EMEA))
    assert retry.status_code == 404
    everything = await survey_client.get("/v1/admin/outbox?limit=100", headers=auth(scopes="admin"))
    assert {e["id"] for e in everything.json()["items"]} >= {mine, theirs, erased, *many}
