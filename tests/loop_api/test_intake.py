"""Opening cases from survey_api's events: once per response, whatever the deliveries; erasure."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
from fastapi import FastAPI
from sqlmodel import select

from services.loop_api.models import Case
from shared.events import RESPONSE_UPDATED
from tests.conftest import TokenFactory
from tests.loop_api.events import EVENTS_URL, batch, contact_erased, deliver, response_event, same_response
from tests.loop_api.helpers import RW, FakeClock, case_of, ok, open_case, problem


async def cases_of(app: FastAPI, response_id: str) -> list[Case]:
    async with app.state.db.sessions() as session:
        return list((await session.exec(select(Case).where(Case.response_id == response_id))).all())


async def test_the_same_event_twice_opens_one_case(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str]
) -> None:
    event = response_event()
    assert await deliver(loop_client, service, event) == {"processed": 1, "duplicates": 0, "ignored": 0}
    assert await deliver(loop_client, service, event) == {"processed": 0, "duplicates": 1, "ignored": 0}
    assert await deliver(loop_client, service, event, event) == {"processed": 0, "duplicates": 2, "ignored": 0}
    assert len(await cases_of(loop_app, event.data["response_id"])) == 1


async def test_completed_then_updated_opens_one_case(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, service: dict[str, str]
) -> None:
    event = response_event()
    await deliver(loop_client, service, event, same_response(event, RESPONSE_UPDATED))
    await deliver(loop_client, service, same_response(event))
    assert len(await cases_of(loop_app, event.data["response_id"])) == 1


async def test_two_events_of_one_response_at_the_same_moment_open_one_case(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, service: dict[str, str]
) -> None:
    for _ in range(3):
        event = response_event()
        first, second = await asyncio.gather(
            loop_client.post(EVENTS_URL, json=batch(event), headers=service),
            loop_client.post(EVENTS_URL, json=batch(same_response(event)), headers=service),
        )
        assert (first.status_code, second.status_code) == (200, 200), (first.text, second.text)
        assert first.json()["processed"] == second.json()["processed"] == 1  # both new ids; one case
        assert len(await cases_of(loop_app, event.data["response_id"])) == 1


async def test_the_same_event_at_the_same_moment_is_processed_once(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, service: dict[str, str]
) -> None:
    event = response_event()
    answers = await asyncio.gather(
        *(loop_client.post(EVENTS_URL, json=batch(event), headers=service) for _ in range(2))
    )
    assert sorted(a.json()["processed"] for a in answers) == [0, 1]
    assert len(await cases_of(loop_app, event.data["response_id"])) == 1


async def test_what_opens_no_case(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    unfinished = response_event(event_type=RESPONSE_UPDATED, finished=False)
    promoter = response_event(answers={"nps": 9})
    historic = response_event(submitted_at=clock.now - dt.timedelta(days=31))
    recent = response_event(submitted_at=clock.now - dt.timedelta(days=29))
    no_nps = response_event(answers={"csat_staff": 1})
    receipt = await deliver(loop_client, service, unfinished, promoter, historic, recent, no_nps)
    assert receipt == {"processed": 5, "duplicates": 0, "ignored": 0}
    opened = [await case_of(loop_client, headers, e.data["response_id"]) for e in (unfinished, promoter, historic)]
    assert opened == [None, None, None]
    assert await case_of(loop_client, headers, recent.data["response_id"]) is not None
    assert await case_of(loop_client, headers, no_nps.data["response_id"]) is None


async def test_a_malformed_event_is_skipped_not_retried(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    broken = response_event()
    broken.data.pop("answers")
    good = response_event()
    assert (await deliver(loop_client, service, broken, good))["processed"] == 2
    assert await case_of(loop_client, auth(scopes=RW), good.data["response_id"]) is not None
    other = response_event()
    other.type = "survey.published"  # an event loop_api does not consume
    assert (await deliver(loop_client, service, other))["ignored"] == 1


async def test_only_services_deliver_events(loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    problem(await loop_client.post(EVENTS_URL, json=batch(response_event())), 401)
    problem(await loop_client.post(EVENTS_URL, json=batch(response_event()), headers=auth(scopes=RW)), 403)


async def test_the_case_is_the_events_org(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    case = await open_case(loop_client, service, auth(org="globex", scopes=RW), org="globex")
    assert await case_of(loop_client, auth(scopes=RW), case["response_id"]) is None


async def test_contact_erased_removes_personal_data(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    answers = {"nps": 2, "why": "Call me on 0170 1234567", "reasons": ["other"], "reasons_other": "Jane Doe here"}
    case = await open_case(
        loop_client, service, headers, contact_id="ct_9", answers=answers, attributes={"name": "Jane", "tier": "gold"}
    )
    bystander = await open_case(loop_client, service, headers, contact_id="ct_10")
    other_org = await open_case(loop_client, service, auth(org="globex", scopes=RW), org="globex", contact_id="ct_9")
    await deliver(loop_client, service, contact_erased("acme", "ct_9", [case["response_id"]]))
    erased = await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers))
    assert erased["contact_id"] is None
    assert erased["snapshot"]["contact_id"] is None
    assert erased["snapshot"]["attributes"] == {}
    assert erased["snapshot"]["answers"] == {"nps": 2, "reasons": ["other"]}
    assert erased["timeline"][-1]["kind"] == "contact_erased"
    assert erased["version"] == case["version"] + 1
    kept = await ok(await loop_client.get(f"/v1/cases/{bystander['id']}", headers=headers))
    assert kept["contact_id"] == "ct_10"
    globex = await ok(await loop_client.get(f"/v1/cases/{other_org['id']}", headers=auth(org="globex", scopes=RW)))
    assert globex["contact_id"] == "ct_9"
    assert (await ok(await loop_client.get("/v1/cases", params={"contact_id": "ct_9"}, headers=headers)))["items"] == []
