"""`/v1/rules` over HTTP: validation, the default rule, ordering, and rules deciding which case opens."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TokenFactory
from tests.loop_api.events import deliver, response_event
from tests.loop_api.helpers import RW, FakeClock, case_of, ok, open_case, problem

URL = "/v1/rules"
DETRACTOR = {"type": "score", "question_kind": "nps", "op": "<=", "value": 6}


async def make_rule(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"name": "Detractors", "conditions": [DETRACTOR], **fields}
    return await ok(await client.post(URL, json=body, headers=headers), 201)


async def make_team(client: httpx.AsyncClient, headers: dict[str, str], name: str, *members: str) -> str:
    team = await ok(await client.post("/v1/teams", json={"name": name, "members": list(members)}, headers=headers), 201)
    return str(team["id"])


async def test_the_default_rule_shows_until_the_org_has_its_own(
    loop_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    headers = auth(scopes=RW)
    listed = await ok(await loop_client.get(URL, headers=headers))
    assert [r["id"] for r in listed["items"]] == ["rule_default"]
    default = listed["items"][0]
    assert default["default"] is True
    assert default["conditions"] == [{**DETRACTOR, "question_key": None}]
    assert default["sla"] == {"first_contact_hours": None, "resolution_hours": None}  # the org's defaults
    assert await ok(await loop_client.get(f"{URL}/rule_default", headers=headers)) == default
    assert "default" in problem(await loop_client.patch(f"{URL}/rule_default", json={}, headers=headers), 409)["detail"]
    own = await make_rule(loop_client, headers, active=False)
    listed = await ok(await loop_client.get(URL, headers=headers))
    assert [r["id"] for r in listed["items"]] == [own["id"]]
    assert own["default"] is False
    problem(await loop_client.get(f"{URL}/rule_default", headers=headers), 404)
    other_org = await ok(await loop_client.get(URL, headers=auth(org="globex", scopes=RW)))
    assert [r["id"] for r in other_org["items"]] == ["rule_default"]


async def test_create_read_update(loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = auth(scopes=RW)
    team = await make_team(loop_client, headers, "Germany", "anna", "ben")
    created = await make_rule(
        loop_client,
        headers,
        name="Gold customers who mention a lawyer",
        match="any",
        conditions=[DETRACTOR, {"type": "words", "words": ["lawyer", "Anwalt"]}, {"type": "reason", "code": "price"}],
        unit="emea",
        priority="high",
        priority_by_attribute=[{"attribute": "tier", "equals": "gold", "priority": "urgent"}],
        sla={"first_contact_hours": 4, "resolution_hours": 24},
        assignment={"routes": [{"unit": "emea/de", "team": team}, {"owner": "carla"}]},
        order=5,
    )
    assert created["id"].startswith("rule_")
    assert created["order"] == 5
    assert created["assignment"]["routes"][0] == {"unit": "emea/de", "team": team, "owner": None}
    assert await ok(await loop_client.get(f"{URL}/{created['id']}", headers=headers)) == created
    changed = await ok(
        await loop_client.patch(f"{URL}/{created['id']}", json={"unit": None, "active": False}, headers=headers)
    )
    assert (changed["unit"], changed["active"], changed["priority"]) == (None, False, "high")
    assert changed["updated_at"] > created["updated_at"]
    reset = await ok(await loop_client.patch(f"{URL}/{created['id']}", json={"sla": None}, headers=headers))
    assert reset["sla"] == {"first_contact_hours": None, "resolution_hours": None}


async def test_invalid_rules_name_the_field(loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = auth(scopes=RW)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"conditions": []}, "conditions"),
        ({"conditions": [{"type": "score", "op": "<", "value": 3}]}, "conditions.0.score"),
        ({"conditions": [{**DETRACTOR, "question_key": "nps"}]}, "conditions.0.score"),
        ({"conditions": [{**DETRACTOR, "op": "~"}]}, "conditions.0.score.op"),
        ({"conditions": [{"type": "words", "words": ["x.*"]}]}, "conditions.0.words.words.0"),
        ({"conditions": [{"type": "regex", "pattern": ".*"}]}, "conditions.0"),
        ({"priority": "critical"}, "priority"),
        ({"sla": {"first_contact_hours": 10, "resolution_hours": 5}}, "sla"),
        ({"assignment": {"routes": [{"unit": "emea"}]}}, "assignment.routes.0"),
        ({"assignment": {"routes": [{"team": "team_nope"}]}}, "assignment.routes.0.team"),
        ({"unit": "EMEA"}, "unit"),
    ]
    for fields, field in cases:
        body = {"name": "x", "conditions": [DETRACTOR], **fields}
        response = await loop_client.post(URL, json=body, headers=headers)
        assert problem(response, 422)["errors"][0]["field"] == field, (fields, response.json())
    rule = await make_rule(loop_client, headers, sla={"first_contact_hours": 10})
    merged = await loop_client.patch(
        f"{URL}/{rule['id']}", json={"sla": {"first_contact_hours": 10, "resolution_hours": 5}}, headers=headers
    )
    problem(merged, 422)
    for body in ({"name": None}, {"conditions": None}, {"colour": "red"}):
        problem(await loop_client.patch(f"{URL}/{rule['id']}", json=body, headers=headers), 422)


async def test_listed_by_order_a_page_at_a_time(loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
    headers = auth(scopes=RW)
    made = [
        await make_rule(loop_client, headers, name=f"r{i}", order=order) for i, order in enumerate([30, 10, 20, 10])
    ]
    expected = [made[1]["id"], made[3]["id"], made[2]["id"], made[0]["id"]]
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = await ok(await loop_client.get(URL, params=params, headers=headers))
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    await loop_client.patch(f"{URL}/{made[0]['id']}", json={"active": False}, headers=headers)
    active = await ok(await loop_client.get(URL, params={"active": "true"}, headers=headers))
    assert made[0]["id"] not in [r["id"] for r in active["items"]]
    problem(await loop_client.get(URL, params={"cursor": "garbage"}, headers=headers), 422)


async def test_highest_priority_rule_opens_the_case(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await make_rule(loop_client, headers, name="all detractors", order=1, sla={"first_contact_hours": 8})
    words = {"type": "words", "words": ["lawyer"]}
    urgent = await make_rule(loop_client, headers, name="legal", order=50, conditions=[words], priority="urgent")
    gold = await make_rule(
        loop_client,
        headers,
        name="gold",
        order=60,
        priority_by_attribute=[{"attribute": "tier", "equals": "gold", "priority": "urgent"}],
    )
    case = await open_case(
        loop_client, service, headers, answers={"nps": 9, "why": "My lawyer"}, submitted_at=clock.now
    )
    assert (case["rule_id"], case["priority"]) == (urgent["id"], "urgent")
    case = await open_case(loop_client, service, headers, attributes={"tier": "gold"}, submitted_at=clock.now)
    assert (case["rule_id"], case["priority"]) == (gold["id"], "urgent")
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    assert (case["priority"], case["sla_first_contact_hours"]) == ("normal", 8)
    assert case["due_first_contact_at"] == "2026-03-02T17:00:00Z"  # opened 08:00 UTC, the day is 09:00-17:00


async def test_an_org_with_rules_gets_no_default(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    await make_rule(
        loop_client, headers, conditions=[{"type": "score", "question_kind": "nps", "op": "<=", "value": 2}]
    )
    event = response_event(answers={"nps": 5})
    await deliver(loop_client, service, event)
    assert await case_of(loop_client, headers, event.data["response_id"]) is None
    await make_rule(loop_client, headers, name="off", active=False)
    other = response_event(org="globex", answers={"nps": 5})
    await deliver(loop_client, service, other)
    assert await case_of(loop_client, auth(org="globex", scopes=RW), other.data["response_id"]) is not None


async def test_rule_scope_by_survey_touchpoint_and_unit(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    await make_rule(loop_client, headers, survey_id="srv_1", touchpoint_id="tp_1", unit="emea/de")
    opened = []
    for fields in (
        {"unit": "emea/de/berlin"},
        {"unit": "emea/fr"},
        {"unit": "emea/de", "survey_id": "srv_2"},
        {"unit": "emea/de", "touchpoint_id": "tp_2"},
    ):
        event = response_event(**fields)
        await deliver(loop_client, service, event)
        opened.append(await case_of(loop_client, headers, event.data["response_id"]) is not None)
    assert opened == [True, False, False, False]
