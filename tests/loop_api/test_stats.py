"""`GET /v1/cases/stats`, checked against figures worked out by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.loop_api.events import deliver, response_event
from tests.loop_api.helpers import MONDAY, RW, FakeClock, activity, ok, open_case, problem, root_cause, step
from tests.loop_api.test_rules import make_rule

MON_9 = MONDAY + dt.timedelta(hours=1)  # 8 business hours to first contact: due Monday 17:00, resolution Tuesday 17:00


def at(day: int, hour: int) -> dt.datetime:
    """`day` 2 is Monday 2 March 2026."""
    return dt.datetime(2026, 3, day, hour, tzinfo=dt.UTC)


async def close(client: httpx.AsyncClient, headers: dict[str, str], case_id: str, outcome: str) -> None:
    await step(client, headers, case_id, status="in_progress")
    await step(client, headers, case_id, status="resolved")
    await step(client, headers, case_id, status="closed", root_causes=["delivery"], resolution="x", outcome=outcome)


async def five_cases(
    client: httpx.AsyncClient, service: dict[str, str], headers: dict[str, str], clock: FakeClock
) -> dict[str, dict[str, Any]]:
    """A (alice): contacted after 1 h, resolved in time, saved. B (alice): after 4 h, resolved late, not saved.
    C (bob): contacted late (25 h), never resolved. D (bob): never reached, resolved in time, unreachable.
    E (nobody): nothing done. All opened Monday 09:00; the figures are read on Wednesday 12:00."""
    await root_cause(client, headers, "delivery")
    await make_rule(client, headers, sla={"first_contact_hours": 8, "resolution_hours": 16})
    clock.now = MON_9
    units = {"a": "emea/de", "b": "emea/de", "c": "emea/fr", "d": "emea/fr", "e": "apac"}
    cases = {
        name: await open_case(client, service, headers, unit=unit, contact_id=f"ct_{name}", submitted_at=clock.now)
        for name, unit in units.items()
    }
    for name, owner in {"a": "alice", "b": "alice", "c": "bob", "d": "bob"}.items():
        await step(client, headers, cases[name]["id"], owner=owner)
    clock.now = at(2, 10)
    await activity(client, headers, cases["a"]["id"])
    clock.now = at(2, 12)
    await close(client, headers, cases["a"]["id"], "recovered")
    clock.now = at(2, 13)
    await activity(client, headers, cases["b"]["id"])
    clock.now = at(2, 15)
    await close(client, headers, cases["d"]["id"], "unreachable")
    clock.now = at(3, 10)
    await activity(client, headers, cases["c"]["id"])
    await deliver(client, service, response_event(contact_id="ct_a", answers={"nps": 9}, submitted_at=clock.now))
    clock.now = at(4, 10)
    await close(client, headers, cases["b"]["id"], "not_recovered")
    clock.now = at(4, 11)
    await deliver(client, service, response_event(contact_id="ct_b", answers={"nps": 5}, submitted_at=clock.now))
    clock.now = at(4, 12)
    return cases


def figures(**values: Any) -> dict[str, Any]:
    outcomes = {"recovered": 0, "not_recovered": 0, "unreachable": 0} | values.pop("outcomes", {})
    return {"outcomes": outcomes, **values}


async def test_figures_overall_and_by_owner(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await five_cases(loop_client, service, headers, clock)
    params = {"from": MON_9.isoformat(), "to": at(4, 0).isoformat(), "by": "owner"}
    stats = await ok(await loop_client.get("/v1/cases/stats", params=params, headers=headers))
    assert (stats["start"], stats["end"], stats["as_of"], stats["by"]) == (
        "2026-03-02T09:00:00Z",
        "2026-03-04T00:00:00Z",
        "2026-03-04T12:00:00Z",
        "owner",
    )
    # Contacted after 1, 4 and 25 hours: median 4; p90 = 4 + 0.8 * (25 - 4) = 20.8.
    # First contact: in time A, B; missed C (late), E (still none); D resolved unreached before due: not counted.
    # Resolution: in time A, D; late B; C and E still open past Tuesday 17:00.
    assert stats["overall"] == figures(
        cases=5,
        first_contacts=3,
        median_hours_to_first_contact=4,
        p90_hours_to_first_contact=pytest.approx(20.8),
        first_contact_sla_decided=4,
        first_contact_within_sla_rate=0.5,
        resolution_sla_decided=5,
        resolved_within_sla_rate=0.4,
        followup_answers=2,
        saved=1,
        saved_rate=0.5,
        outcomes={"recovered": 1, "not_recovered": 1, "unreachable": 1},
    )
    groups = sorted(stats["groups"], key=lambda g: (g["key"] is None, g["key"] or ""))
    assert groups == [
        figures(
            key="alice",
            cases=2,
            first_contacts=2,
            median_hours_to_first_contact=2.5,
            p90_hours_to_first_contact=pytest.approx(3.7),  # 1 + 0.9 * (4 - 1)
            first_contact_sla_decided=2,
            first_contact_within_sla_rate=1.0,
            resolution_sla_decided=2,
            resolved_within_sla_rate=0.5,
            followup_answers=2,
            saved=1,
            saved_rate=0.5,
            outcomes={"recovered": 1, "not_recovered": 1},
        ),
        figures(
            key="bob",
            cases=2,
            first_contacts=1,
            median_hours_to_first_contact=25,
            p90_hours_to_first_contact=25,
            first_contact_sla_decided=1,
            first_contact_within_sla_rate=0.0,
            resolution_sla_decided=2,
            resolved_within_sla_rate=0.5,
            followup_answers=0,
            saved=0,
            saved_rate=None,
            outcomes={"unreachable": 1},
        ),
        figures(
            key=None,
            cases=1,
            first_contacts=0,
            median_hours_to_first_contact=None,
            p90_hours_to_first_contact=None,
            first_contact_sla_decided=1,
            first_contact_within_sla_rate=0.0,
            resolution_sla_decided=1,
            resolved_within_sla_rate=0.0,
            followup_answers=0,
            saved=0,
            saved_rate=None,
        ),
    ]


async def test_by_unit_and_team_range_and_units(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await five_cases(loop_client, service, headers, clock)

    async def stats(token: dict[str, str] | None = None, /, **params: Any) -> dict[str, Any]:
        return await ok(await loop_client.get("/v1/cases/stats", params=params, headers=token or headers))

    monday_to_tuesday = {"from": MON_9.isoformat(), "to": at(4, 0).isoformat()}
    by_unit = await stats(by="unit", **monday_to_tuesday)
    assert {g["key"]: g["cases"] for g in by_unit["groups"]} == {"apac": 1, "emea/de": 2, "emea/fr": 2}
    by_team = await stats(by="team", **monday_to_tuesday)
    assert {g["key"]: g["first_contacts"] for g in by_team["groups"]} == {None: 3}
    # The last 30 days by default: B's follow-up answer (NPS 5, Wednesday) is a detractor and opened a case.
    assert (await stats())["overall"]["cases"] == 6
    assert (await stats(to=MON_9.isoformat()))["overall"]["cases"] == 0  # `to` is exclusive
    assert (await stats(**{"from": at(2, 10).isoformat()}))["overall"]["cases"] == 1  # only that new case
    french = await stats(auth(scopes=RW, units=["emea/fr"]), by="owner", **monday_to_tuesday)
    assert french["overall"]["cases"] == 2
    assert [g["key"] for g in french["groups"]] == ["bob"]
    assert (await stats(auth(org="globex", scopes=RW)))["overall"]["cases"] == 0
    # `unit`: that unit and its subtree (what a unit's scorecard asks for); inside a token's units too.
    assert (await stats(unit="emea", **monday_to_tuesday))["overall"]["cases"] == 4
    assert (await stats(unit="emea/de", **monday_to_tuesday))["overall"]["first_contacts"] == 2
    assert (await stats(auth(scopes=RW, units=["emea/fr"]), unit="emea/de"))["overall"]["cases"] == 0


async def test_invalid_ranges(loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = auth(scopes=RW)
    for params, field in [
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "from"),
        ({"from": "2026-03-01T00:00:00"}, "from"),
        ({"by": "colour"}, "by"),
    ]:
        response = await loop_client.get("/v1/cases/stats", params=params, headers=headers)
        assert problem(response, 422)["errors"][0]["field"] == field
