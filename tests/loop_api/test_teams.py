"""`/v1/teams` and `/v1/escalations`: round robin inside a team, routing by unit, the fallback queue."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import TokenFactory
from tests.loop_api.events import deliver, response_event
from tests.loop_api.helpers import RW, case_of, ok, open_case, problem, step
from tests.loop_api.test_rules import make_rule, make_team


async def test_create_rename_and_replace_members(loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = auth(scopes=RW)
    created = await ok(
        await loop_client.post("/v1/teams", json={"name": "Berlin", "members": ["anna"]}, headers=headers), 201
    )
    assert created["id"].startswith("team_")
    assert await ok(await loop_client.get(f"/v1/teams/{created['id']}", headers=headers)) == created
    changed = await ok(
        await loop_client.patch(
            f"/v1/teams/{created['id']}", json={"name": "Berlin-Mitte", "members": ["ben", "anna"]}, headers=headers
        )
    )
    assert (changed["name"], changed["members"]) == ("Berlin-Mitte", ["ben", "anna"])
    again = await loop_client.post("/v1/teams", json={"name": "Berlin-Mitte"}, headers=headers)
    assert "Berlin-Mitte" in problem(again, 409)["detail"]
    other = await ok(await loop_client.post("/v1/teams", json={"name": "Paris"}, headers=headers), 201)
    problem(await loop_client.patch(f"/v1/teams/{other['id']}", json={"name": "Berlin-Mitte"}, headers=headers), 409)
    for body in ({"members": ["a", "a"]}, {"name": None}, {"members": None}, {"name": ""}):
        problem(await loop_client.patch(f"/v1/teams/{created['id']}", json=body, headers=headers), 422)
    listed = await ok(await loop_client.get("/v1/teams", params={"limit": 1}, headers=headers))
    assert [t["id"] for t in listed["items"]] == [created["id"]]
    rest = await ok(await loop_client.get("/v1/teams", params={"cursor": listed["next_cursor"]}, headers=headers))
    assert [t["id"] for t in rest["items"]] == [other["id"]]


async def test_round_robin_inside_a_team(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    team = await make_team(loop_client, headers, "Germany", "anna", "ben", "carla")
    await make_rule(loop_client, headers, assignment={"routes": [{"unit": "emea/de", "team": team}]})
    owners = [(await open_case(loop_client, service, headers))["owner"] for _ in range(7)]
    assert owners == ["anna", "ben", "carla", "anna", "ben", "carla", "anna"]
    await loop_client.patch(f"/v1/teams/{team}", json={"members": ["dora", "emil"]}, headers=headers)
    case = await open_case(loop_client, service, headers)
    assert (case["owner"], case["team"], case["queue"]) == ("emil", team, None)  # the turn count goes on


async def test_round_robin_is_fair_under_concurrency(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    team = await make_team(loop_client, headers, "Germany", "anna", "ben")
    await make_rule(loop_client, headers, assignment={"routes": [{"team": team}]})
    events = [response_event() for _ in range(6)]
    await asyncio.gather(*(deliver(loop_client, service, e) for e in events))
    owners = [(await case_of(loop_client, headers, e.data["response_id"]) or {})["owner"] for e in events]
    assert sorted(owners) == ["anna"] * 3 + ["ben"] * 3


async def test_routes_by_deepest_unit_and_fallback_queue(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    empty = await make_team(loop_client, headers, "Nobody yet")
    routes: list[dict[str, Any]] = [
        {"unit": "emea", "owner": "emea-lead"},
        {"unit": "emea/de/berlin", "owner": "berlin-lead"},
        {"unit": "apac", "team": empty},
    ]
    await make_rule(loop_client, headers, assignment={"routes": routes})
    berlin = await open_case(loop_client, service, headers, unit="emea/de/berlin/mitte")
    paris = await open_case(loop_client, service, headers, unit="emea/fr")
    tokyo = await open_case(loop_client, service, headers, unit="apac/jp")
    lima = await open_case(loop_client, service, headers, unit="latam/pe")
    nowhere = await open_case(loop_client, service, headers, unit=None)
    assert (berlin["owner"], paris["owner"]) == ("berlin-lead", "emea-lead")
    assert (tokyo["owner"], tokyo["team"], tokyo["queue"]) == (None, empty, None)  # in its team's queue
    assert (lima["owner"], lima["team"], lima["queue"]) == (None, None, "latam/pe")  # in its unit's queue
    assert (nowhere["owner"], nowhere["queue"]) == (None, None)
    queue = await ok(await loop_client.get("/v1/cases", params={"unassigned": "true"}, headers=headers))
    assert {c["id"] for c in queue["items"]} == {tokyo["id"], lima["id"], nowhere["id"]}


async def test_handing_a_case_to_a_team_picks_its_next_member(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    team = await make_team(loop_client, headers, "Germany", "anna", "ben")
    case = await open_case(loop_client, service, headers)
    handed = await step(loop_client, headers, case["id"], team=team)
    assert (handed["team"], handed["owner"]) == (team, "anna")
    chosen = await step(loop_client, headers, case["id"], team=None, owner="zoe")
    assert (chosen["team"], chosen["owner"]) == (None, "zoe")
    problem(
        await loop_client.patch(
            f"/v1/cases/{case['id']}", json={"team": "team_nope"}, headers={**headers, "If-Match": "*"}
        ),
        422,
    )


async def test_escalations_are_replaced_whole(loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = auth(scopes=RW)
    assert await ok(await loop_client.get("/v1/escalations", headers=headers)) == {"items": []}
    body = {"items": [{"unit": None, "owner": "cx-director"}, {"unit": "emea/de", "owner": "de-lead"}]}
    assert await ok(await loop_client.put("/v1/escalations", json=body, headers=headers)) == body
    assert await ok(await loop_client.get("/v1/escalations", headers=headers)) == body
    smaller = {"items": [{"unit": "emea", "owner": "emea-lead"}]}
    await ok(await loop_client.put("/v1/escalations", json=smaller, headers=headers))
    assert await ok(await loop_client.get("/v1/escalations", headers=headers)) == smaller
    twice = {"items": [{"unit": "emea", "owner": "a"}, {"unit": "emea", "owner": "b"}]}
    problem(await loop_client.put("/v1/escalations", json=twice, headers=headers), 422)
    problem(await loop_client.put("/v1/escalations", json={"items": [{"unit": "emea"}]}, headers=headers), 422)
