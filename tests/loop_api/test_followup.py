"""Follow-up after closing, and the recovery read from the contact's next NPS answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import select

from services.loop_api.cases.followup import saved
from services.loop_api.models import OutboxEvent
from shared.events import RESPONSE_UPDATED
from tests.conftest import TokenFactory, common_settings
from tests.loop_api.events import deliver, response_event
from tests.loop_api.helpers import RW, FakeClock, activity, ok, open_case, root_cause, step

CLOSING = {"root_causes": ["delivery"], "resolution": "Fixed", "outcome": "recovered"}


async def followups(app: FastAPI) -> list[OutboxEvent]:
    async with app.state.db.sessions() as session:
        statement = select(OutboxEvent).where(OutboxEvent.event_type == "followup.requested")
        return list((await session.exec(statement)).all())


async def closed_case(
    client: httpx.AsyncClient,
    service: dict[str, str],
    headers: dict[str, str],
    clock: FakeClock,
    *,
    reached: bool = True,
    **event: Any,
) -> dict[str, Any]:
    """A case opened now, worked (the customer reached unless told) and closed an hour later."""
    case = await open_case(client, service, headers, submitted_at=clock.now, **event)
    clock.advance(hours=1)
    await activity(client, headers, case["id"], reached_customer=reached, kind="call" if reached else "note")
    await step(client, headers, case["id"], status="in_progress")
    await step(client, headers, case["id"], status="resolved")
    return await step(client, headers, case["id"], status="closed", **CLOSING)


async def test_close_succeeds_with_survey_api_down_and_the_request_is_retried(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    case = await closed_case(loop_client, service, headers, clock, contact_id="ct_1")
    assert case["status"] == "closed"
    [event] = await followups(loop_app)
    assert (event.status, event.destinations, event.attempts) == ("pending", ["survey", "webhooks"], 0)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("survey_api is down", request=request)

    down = httpx.AsyncClient(transport=httpx.MockTransport(refuse), base_url="http://survey")
    dispatcher = replace(loop_app.state.dispatcher, clients={"survey": down}, settings=common_settings())
    assert await dispatcher.drain_once() == 1
    [event] = await followups(loop_app)
    assert (event.status, event.attempts) == ("pending", 1)
    assert event.last_error is not None and "down" in event.last_error
    assert event.available_at > dt.datetime.now(dt.UTC)  # retried after a backoff
    await down.aclose()


async def test_no_followup_without_reaching_the_customer_or_a_contact(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    unreached = await closed_case(loop_client, service, headers, clock, reached=False)
    anonymous = await closed_case(loop_client, service, headers, clock, contact_id=None)
    assert unreached["followup_requested_at"] is anonymous["followup_requested_at"] is None
    assert await followups(loop_app) == []


async def test_reopened_and_closed_again_asks_once(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    case = await closed_case(loop_client, service, headers, clock)
    await step(loop_client, headers, case["id"], status="in_progress")
    await step(loop_client, headers, case["id"], status="resolved")
    await step(loop_client, headers, case["id"], status="closed")
    assert len(await followups(loop_app)) == 1


async def test_only_the_first_next_nps_answer_after_the_close_counts(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    case = await open_case(loop_client, service, headers, contact_id="ct_5", submitted_at=clock.now)
    before_close = response_event(contact_id="ct_5", answers={"nps": 10}, submitted_at=clock.now)
    await deliver(loop_client, service, before_close)  # answered before the case closed: not a recovery
    clock.advance(hours=1)
    await activity(loop_client, headers, case["id"])
    for status in ("in_progress", "resolved"):
        await step(loop_client, headers, case["id"], status=status)
    await step(loop_client, headers, case["id"], status="closed", **CLOSING)
    clock.advance(days=1)
    original = response_event(contact_id="ct_5", answers={"nps": 9}, submitted_at=clock.now)
    original.data["response_id"] = case["response_id"]  # the first response, updated later: not a next answer
    original.type = RESPONSE_UPDATED
    someone_else = response_event(contact_id="ct_6", answers={"nps": 9}, submitted_at=clock.now)
    no_nps = response_event(contact_id="ct_5", answers={"csat_staff": 5}, submitted_at=clock.now)
    await deliver(loop_client, service, original, someone_else, no_nps)
    assert (await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers)))["recovery"] is None
    clock.advance(days=1)
    first = response_event(contact_id="ct_5", answers={"nps": 4}, submitted_at=clock.now)
    second = response_event(contact_id="ct_5", answers={"nps": 10}, submitted_at=clock.now + dt.timedelta(hours=1))
    await deliver(loop_client, service, first)
    await deliver(loop_client, service, second)
    detail = await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers))
    assert detail["recovery"] == {
        "response_id": first.data["response_id"],
        "score_before": 3,
        "score_after": 4,
        "saved": False,
        "recorded_at": "2026-03-04T09:00:00Z",
    }
    assert [e["kind"] for e in detail["timeline"]].count("recovery_recorded") == 1


async def test_a_case_not_closed_waits(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    case = await closed_case(loop_client, service, headers, clock, contact_id="ct_8")
    await step(loop_client, headers, case["id"], status="in_progress")  # reopened
    clock.advance(days=1)
    await deliver(loop_client, service, response_event(contact_id="ct_8", answers={"nps": 9}, submitted_at=clock.now))
    assert (await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers)))["recovery"] is None


def test_saved_means_a_detractor_came_back() -> None:
    assert [saved(6, after) for after in (6, 7, 10)] == [False, True, True]
    assert [saved(before, 9) for before in (0, 7, None)] == [True, False, False]
