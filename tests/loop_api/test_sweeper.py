"""The SLA sweeper: each breach escalated exactly once, also with two sweepers at the same moment."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import col, func, select

from services.loop_api.cases.sweeper import raised, sweep, sweep_loop, sweep_once
from services.loop_api.models import CaseEvent, OutboxEvent
from tests.conftest import Backend, TokenFactory
from tests.loop_api.helpers import RW, FakeClock, activity, ok, open_case, step
from tests.loop_api.test_rules import make_rule

# One business hour to first contact, two to resolution; opened Monday 08:00 UTC, the day starts at 09:00.
SLA = {"first_contact_hours": 1, "resolution_hours": 2}
FIRST_DUE = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
RESOLUTION_DUE = dt.datetime(2026, 3, 2, 11, tzinfo=dt.UTC)
LATER = dt.timedelta(minutes=1)


async def breach_entries(app: FastAPI) -> list[CaseEvent]:
    async with app.state.db.sessions() as session:
        statement = select(CaseEvent).where(CaseEvent.kind == "breached").order_by(col(CaseEvent.id))
        return list((await session.exec(statement)).all())


async def breach_events(app: FastAPI) -> list[OutboxEvent]:
    async with app.state.db.sessions() as session:
        statement = select(OutboxEvent).where(OutboxEvent.event_type == "case.breached")
        return list((await session.exec(statement.order_by(col(OutboxEvent.id)))).all())


async def setup(client: httpx.AsyncClient, headers: dict[str, str], **rule: Any) -> None:
    await make_rule(client, headers, sla=SLA, **rule)
    escalations = {"items": [{"unit": None, "owner": "director"}, {"unit": "emea/de", "owner": "de-lead"}]}
    await ok(await client.put("/v1/escalations", json=escalations, headers=headers))


async def test_escalates_each_breach_once(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await setup(loop_client, headers, assignment={"routes": [{"owner": "agent"}]})
    late = await open_case(loop_client, service, headers, unit="emea/de/berlin", submitted_at=clock.now)
    contacted = await open_case(loop_client, service, headers, unit="apac", submitted_at=clock.now)
    db = loop_app.state.db
    assert await sweep(db, FIRST_DUE) == 0  # due at 10:00 is still in time at 10:00
    clock.now = FIRST_DUE - LATER
    await activity(loop_client, headers, contacted["id"])
    assert await sweep(db, FIRST_DUE + LATER) == 1
    assert await sweep(db, FIRST_DUE + LATER) == 0
    escalated = await ok(await loop_client.get(f"/v1/cases/{late['id']}", headers=headers))
    assert (escalated["priority"], escalated["owner"]) == ("high", "de-lead")
    assert escalated["first_contact_escalated_at"] == "2026-03-02T10:01:00Z"
    assert escalated["timeline"][-1]["data"] == {
        "breach": "first_contact",
        "from": {"priority": "normal", "owner": "agent"},
        "to": {"priority": "high", "owner": "de-lead"},
    }
    assert escalated["timeline"][-1]["actor"] == "system:sweeper"
    [event] = await breach_events(loop_app)
    assert (event.status, event.destinations, event.org) == ("pending", ["webhooks"], "acme")
    assert event.payload["data"]["case_id"] == late["id"]
    assert event.payload["data"]["breach"] == "first_contact"
    # Later the resolution clock of both runs out: a second, separate breach of each.
    assert await sweep(db, RESOLUTION_DUE + LATER) == 2
    assert await sweep(db, RESOLUTION_DUE + dt.timedelta(days=9)) == 0
    again = await ok(await loop_client.get(f"/v1/cases/{late['id']}", headers=headers))
    assert again["priority"] == "urgent"
    other = await ok(await loop_client.get(f"/v1/cases/{contacted['id']}", headers=headers))
    assert (other["priority"], other["owner"]) == ("high", "director")
    assert [e.payload["data"]["breach"] for e in await breach_events(loop_app)] == ["first_contact"] + [
        "resolution"
    ] * 2


async def test_resolved_cases_are_not_escalated(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await setup(loop_client, headers)
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    await step(loop_client, headers, case["id"], status="in_progress")
    await step(loop_client, headers, case["id"], status="resolved")
    assert await sweep(loop_app.state.db, RESOLUTION_DUE + dt.timedelta(days=1)) == 0


async def test_two_sweepers_at_the_same_moment_escalate_once(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await setup(loop_client, headers, priority="high")
    cases = [await open_case(loop_client, service, headers, submitted_at=clock.now) for _ in range(25)]
    counts = await asyncio.gather(*(sweep(loop_app.state.db, FIRST_DUE + LATER) for _ in range(3)))
    assert sum(counts) == 25
    entries = await breach_entries(loop_app)
    assert sorted(e.case_id for e in entries) == sorted(c["id"] for c in cases)
    assert len(await breach_events(loop_app)) == 25
    listed = await ok(await loop_client.get("/v1/cases", params={"limit": 100}, headers=headers))
    assert {(c["priority"], c["version"]) for c in listed["items"]} == {("urgent", 2)}


async def test_the_background_loop_sweeps_until_stopped(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await setup(loop_client, headers)
    await open_case(loop_client, service, headers, submitted_at=clock.now)
    clock.now = FIRST_DUE + LATER
    stop = asyncio.Event()
    task = asyncio.create_task(sweep_loop(loop_app, stop))
    for _ in range(100):
        if await breach_entries(loop_app):
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert len(await breach_entries(loop_app)) == 1


async def test_sweep_once_for_the_cli(
    loop_client: httpx.AsyncClient,
    loop_app: FastAPI,
    backend: Backend,
    auth: TokenFactory,
    service: dict[str, str],
    clock: FakeClock,
) -> None:
    headers = auth(scopes=RW)
    await setup(loop_client, headers)
    await open_case(loop_client, service, headers, submitted_at=clock.now)
    assert await sweep_once(backend.urls["loop_api"], FIRST_DUE + LATER) == 1
    async with loop_app.state.db.sessions() as session:
        assert (await session.exec(select(func.count()).select_from(CaseEvent))).one() == 2


def test_priority_steps() -> None:
    assert [raised(p) for p in ("low", "normal", "high", "urgent")] == ["normal", "high", "urgent", "urgent"]


async def test_a_paused_resolution_clock_is_not_escalated(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await setup(loop_client, headers)
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    clock.now = FIRST_DUE - LATER
    await activity(loop_client, headers, case["id"])
    await step(loop_client, headers, case["id"], status="in_progress")
    await step(loop_client, headers, case["id"], status="waiting_on_customer")
    db = loop_app.state.db
    assert await sweep(db, RESOLUTION_DUE + dt.timedelta(days=2)) == 0
    clock.now = RESOLUTION_DUE + dt.timedelta(days=2)  # Wednesday 11:00, after 17 h 01 min of business time
    resumed = await step(loop_client, headers, case["id"], status="in_progress")
    assert resumed["due_resolution_at"] == "2026-03-04T12:01:00Z"  # the 61 minutes that were left
    assert await sweep(db, dt.datetime(2026, 3, 4, 12, 1, tzinfo=dt.UTC)) == 0
    assert await sweep(db, dt.datetime(2026, 3, 4, 12, 2, tzinfo=dt.UTC)) == 1
