"""SLA due times and states with a controllable clock; the list filters agree with what a case shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.conftest import TokenFactory
from tests.loop_api.helpers import MONDAY, RW, FakeClock, activity, ok, open_case, step

# The org's defaults: 48 business hours to first contact, 168 to resolution, Monday-Friday 09:00-17:00 UTC.
# Opened Monday 2 March 08:00 UTC, the clocks start at 09:00.
DUE_FIRST = dt.datetime(2026, 3, 9, 17, tzinfo=dt.UTC)  # 6 business days
RISK_FIRST = dt.datetime(2026, 3, 6, 15, 24, tzinfo=dt.UTC)  # 38.4 h = 4 days + 6 h 24 min
DUE_RESOLUTION = dt.datetime(2026, 3, 30, 17, tzinfo=dt.UTC)  # 21 business days
RISK_RESOLUTION = dt.datetime(2026, 3, 24, 15, 24, tzinfo=dt.UTC)  # 134.4 h = 16 days + 6 h 24 min
SECOND = dt.timedelta(seconds=1)


def iso(instant: dt.datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


async def state(client: httpx.AsyncClient, headers: dict[str, str], case_id: str) -> tuple[str, bool]:
    case = await ok(await client.get(f"/v1/cases/{case_id}", headers=headers))
    return case["sla_state"], case["overdue"]


async def test_due_times_from_the_org_defaults(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    case = await open_case(loop_client, service, auth(scopes=RW), submitted_at=clock.now)
    assert (case["due_first_contact_at"], case["due_resolution_at"]) == (iso(DUE_FIRST), iso(DUE_RESOLUTION))
    assert (case["sla_first_contact_hours"], case["sla_resolution_hours"]) == (48, 168)


async def test_first_contact_clock(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    expected = [
        (MONDAY, ("on_track", False)),
        (RISK_FIRST - SECOND, ("on_track", False)),
        (RISK_FIRST, ("at_risk", False)),
        (DUE_FIRST, ("at_risk", False)),  # due at 17:00 means 17:00 is still in time
        (DUE_FIRST + SECOND, ("breached", True)),
    ]
    for instant, answer in expected:
        clock.now = instant
        assert await state(loop_client, headers, case["id"]) == answer, instant
    await activity(loop_client, headers, case["id"])  # a late first contact: breached for good, no longer overdue
    assert await state(loop_client, headers, case["id"]) == ("breached", False)
    clock.now = DUE_RESOLUTION + SECOND
    assert await state(loop_client, headers, case["id"]) == ("breached", True)


async def test_resolution_clock_after_a_timely_first_contact(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    clock.now = DUE_FIRST
    await activity(loop_client, headers, case["id"])
    await step(loop_client, headers, case["id"], status="in_progress")
    for instant, answer in [
        (DUE_FIRST + dt.timedelta(days=1), ("on_track", False)),  # the first clock stopped in time
        (RISK_RESOLUTION, ("at_risk", False)),
    ]:
        clock.now = instant
        assert await state(loop_client, headers, case["id"]) == answer
    await step(loop_client, headers, case["id"], status="resolved")
    clock.now = DUE_RESOLUTION + dt.timedelta(days=30)
    assert await state(loop_client, headers, case["id"]) == ("on_track", False)  # resolved in time, stays so
    await step(loop_client, headers, case["id"], status="in_progress")  # reopened past due: the clock runs again
    assert await state(loop_client, headers, case["id"]) == ("breached", True)


async def test_resolved_without_contact_before_the_due_time_is_no_breach(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    clock.advance(hours=5)
    await step(loop_client, headers, case["id"], status="in_progress")
    await step(loop_client, headers, case["id"], status="resolved")
    clock.now = DUE_RESOLUTION + dt.timedelta(days=1)
    assert await state(loop_client, headers, case["id"]) == ("on_track", False)


async def test_rule_hours_in_the_org_business_hours(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    hours = {"timezone": "Europe/Berlin", "days": [1, 2, 3, 4, 5], "start": "08:00:00", "end": "18:00:00"}
    settings = {"business_hours": hours, "default_sla_first_contact_hours": 4, "default_sla_resolution_hours": 20}
    await ok(await loop_client.put("/v1/org-settings", json=settings, headers=auth(scopes="admin")))
    clock.now = dt.datetime(2026, 3, 27, 15, tzinfo=dt.UTC)  # Friday 16:00 in Berlin, DST starts on Sunday
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    # 2 h on Friday, 2 h on Monday from 08:00 CEST (06:00 UTC); 20 h: 2 + 10 on Monday + 8 on Tuesday.
    assert case["due_first_contact_at"] == "2026-03-30T08:00:00Z"
    assert case["due_resolution_at"] == "2026-03-31T14:00:00Z"


async def test_filters_agree_with_the_shown_state(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    opened = [await open_case(loop_client, service, headers, submitted_at=clock.now) for _ in range(5)]
    clock.now = RISK_FIRST
    await activity(loop_client, headers, opened[1]["id"])
    clock.now = DUE_FIRST + dt.timedelta(hours=1)
    await activity(loop_client, headers, opened[2]["id"])
    for case in opened[3:]:
        await step(loop_client, headers, case["id"], status="in_progress")
    await step(loop_client, headers, opened[4]["id"], status="resolved")
    instants = [MONDAY, RISK_FIRST, DUE_FIRST + dt.timedelta(hours=2), RISK_RESOLUTION, DUE_RESOLUTION + SECOND]
    seen_states: set[str] = set()
    for instant in instants:
        clock.now = instant
        shown = (await ok(await loop_client.get("/v1/cases", headers=headers)))["items"]
        seen_states |= {c["sla_state"] for c in shown}
        for params in [{"sla_state": s} for s in ("on_track", "at_risk", "breached")] + [
            {"overdue": "true"},
            {"overdue": "false"},
        ]:
            listed = (await ok(await loop_client.get("/v1/cases", params=params, headers=headers)))["items"]
            assert {c["id"] for c in listed} == {c["id"] for c in shown if _fits(c, params)}, (instant, params)
    assert seen_states == {"on_track", "at_risk", "breached"}


def _fits(case: dict[str, Any], params: dict[str, str]) -> bool:
    if "sla_state" in params:
        return bool(case["sla_state"] == params["sla_state"])
    return bool(case["overdue"] == (params["overdue"] == "true"))


async def test_waiting_on_the_customer_pauses_the_resolution_clock(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    clock.now = dt.datetime(2026, 3, 3, 10, tzinfo=dt.UTC)
    await activity(loop_client, headers, case["id"])
    await step(loop_client, headers, case["id"], status="in_progress")
    # Paused after 40 of its 168 business hours (Monday 2 to Monday 9 March, 09:00-17:00).
    clock.now = dt.datetime(2026, 3, 9, 9, tzinfo=dt.UTC)
    paused = await step(loop_client, headers, case["id"], status="waiting_on_customer")
    assert paused["sla_paused_at"] == "2026-03-09T09:00:00Z"
    clock.now = DUE_RESOLUTION + dt.timedelta(days=1)  # long past the original due time, still waiting
    assert await state(loop_client, headers, case["id"]) == ("on_track", False)
    listed = (await ok(await loop_client.get("/v1/cases", params={"overdue": "true"}, headers=headers)))["items"]
    assert case["id"] not in {c["id"] for c in listed}
    # The customer answers on Wednesday 1 April 09:00: 136 business hours of waiting move the due time back,
    # leaving the 128 hours that were left: 16 business days, due Wednesday 22 April 17:00.
    clock.now = dt.datetime(2026, 4, 1, 9, tzinfo=dt.UTC)
    resumed = await step(loop_client, headers, case["id"], status="in_progress")
    assert (resumed["sla_paused_at"], resumed["due_resolution_at"]) == (None, "2026-04-22T17:00:00Z")
    detail = await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers))
    expected = {"from": "waiting_on_customer", "to": "in_progress", "sla_paused_hours": 136}
    assert detail["timeline"][-1]["data"] == expected
    clock.now = dt.datetime(2026, 4, 22, 17, tzinfo=dt.UTC)
    assert await state(loop_client, headers, case["id"]) == ("at_risk", False)
    clock.now += SECOND
    assert await state(loop_client, headers, case["id"]) == ("breached", True)


async def test_a_clock_late_before_the_pause_stays_breached(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    await step(loop_client, headers, case["id"], status="in_progress")
    clock.now = DUE_RESOLUTION + dt.timedelta(hours=1)
    await step(loop_client, headers, case["id"], status="waiting_on_customer")
    assert await state(loop_client, headers, case["id"]) == ("breached", True)
    clock.now += dt.timedelta(days=3)
    resolved = await step(loop_client, headers, case["id"], status="resolved")
    assert resolved["due_resolution_at"] == iso(DUE_RESOLUTION)  # a missed due time does not move
    assert await state(loop_client, headers, case["id"]) == ("breached", False)
