"""`/v1/cases`: reading and filtering, `If-Match`, the status machine, closing, activities, unit access."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.loop_api.cases import lifecycle
from services.loop_api.cases import service as cases
from services.loop_api.cases.lifecycle import TRANSITIONS
from services.loop_api.cases.schemas import CaseUpdate
from shared.auth import Principal
from shared.errors import PreconditionFailed
from tests.conftest import TokenFactory
from tests.loop_api.helpers import RW, FakeClock, activity, change, ok, open_case, problem, root_cause, step

STATUSES = ["open", "in_progress", "waiting_on_customer", "resolved", "closed"]
CLOSING = {"root_causes": ["delivery"], "resolution": "Refunded", "outcome": "recovered"}


async def to_status(client: httpx.AsyncClient, headers: dict[str, str], case_id: str, target: str) -> None:
    """Walk a case from open to `target` along the allowed steps."""
    path = {"in_progress": ["in_progress"], "waiting_on_customer": ["in_progress", "waiting_on_customer"]}
    path |= {"resolved": ["in_progress", "resolved"], "closed": ["in_progress", "resolved", "closed"]}
    for status in path.get(target, []):
        await step(client, headers, case_id, status=status, **(CLOSING if status == "closed" else {}))


async def test_etag_and_if_match(loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]) -> None:
    headers = auth(scopes=RW)
    case = await open_case(loop_client, service, headers)
    url = f"/v1/cases/{case['id']}"
    read = await loop_client.get(url, headers=headers)
    assert read.headers["etag"] == '"1"'
    missing = await loop_client.patch(url, json={"priority": "high"}, headers=headers)
    assert '"1"' in problem(missing, 428)["detail"]
    changed = await loop_client.patch(url, json={"priority": "high"}, headers={**headers, "If-Match": '"1"'})
    assert (changed.status_code, changed.headers["etag"], changed.json()["version"]) == (200, '"2"', 2)
    stale = await loop_client.patch(url, json={"priority": "low"}, headers={**headers, "If-Match": '"1"'})
    assert '"2"' in problem(stale, 412)["detail"]
    assert (await ok(await loop_client.get(url, headers=headers)))["priority"] == "high"
    listed = await loop_client.patch(url, json={"priority": "low"}, headers={**headers, "If-Match": 'W/"x", "2"'})
    assert listed.headers["etag"] == '"3"'
    unchanged = await loop_client.patch(url, json={"priority": "low"}, headers={**headers, "If-Match": '"3"'})
    assert unchanged.headers["etag"] == '"3"'  # nothing changed, no new version
    anything = await loop_client.patch(url, json={"owner": "zoe"}, headers={**headers, "If-Match": "*"})
    assert anything.headers["etag"] == '"4"'


async def test_concurrent_changes_with_one_etag_one_wins(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    case = await open_case(loop_client, service, headers)
    tagged = {**headers, "If-Match": '"1"'}
    answers = await asyncio.gather(
        *(loop_client.patch(f"/v1/cases/{case['id']}", json={"owner": o}, headers=tagged) for o in ("ann", "bob"))
    )
    assert sorted(a.status_code for a in answers) == [200, 412]
    detail = await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers))
    assert detail["version"] == 2
    assert [e["kind"] for e in detail["timeline"]] == ["opened", "owner_changed"]


async def test_a_change_prepared_on_a_stale_read_is_refused(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    # Deterministic form of the race: read, another request commits a change, then write.
    headers = auth(scopes=RW)
    case = await open_case(loop_client, service, headers)
    principal = Principal(sub="ann", org="acme", scopes=frozenset({"cases:write"}))
    async with loop_app.state.db.sessions() as session:
        stale = await cases.get_case(session=session, principal=principal, case_id=case["id"])
        assert stale.version == 1
        await step(loop_client, headers, case["id"], owner="bob")
        with pytest.raises(PreconditionFailed):
            await cases.claim(session, stale, expected=1)
        await session.rollback()
        with pytest.raises(PreconditionFailed):  # the whole update, given the ETag it read
            await lifecycle.update_case(
                session=session,
                principal=principal,
                case_id=case["id"],
                data=CaseUpdate(owner="ann"),
                if_match='"1"',
                now=clock.now,
            )
    assert (await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers)))["owner"] == "bob"


@pytest.mark.parametrize("start", STATUSES)
async def test_illegal_transitions_are_409_naming_the_allowed(
    start: str, loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    case = await open_case(loop_client, service, headers)
    await to_status(loop_client, headers, case["id"], start)
    for target in STATUSES:
        if target == start or target in TRANSITIONS[start]:
            continue
        response = await change(loop_client, headers, case["id"], status=target)
        detail = problem(response, 409)["detail"]
        assert all(allowed in detail for allowed in TRANSITIONS[start]), detail
    assert (await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers)))["status"] == start


async def test_waiting_resolving_reopening(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    for status in ["in_progress", "waiting_on_customer", "in_progress", "waiting_on_customer", "resolved"]:
        clock.advance(minutes=10)
        updated = await step(loop_client, headers, case["id"], status=status)
    assert updated["resolved_at"] == "2026-03-02T08:50:00Z"
    closed = await step(loop_client, headers, case["id"], status="closed", **CLOSING)
    assert closed["closed_at"] is not None
    reopened = await step(loop_client, headers, case["id"], status="in_progress")
    assert (reopened["status"], reopened["resolved_at"], reopened["closed_at"]) == ("in_progress", None, None)
    assert reopened["root_causes"] == ["delivery"]  # kept for the next close
    detail = await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers))
    assert detail["timeline"][-1]["kind"] == "reopened"
    assert detail["timeline"][-1]["data"] == {"from": "closed", "to": "in_progress"}
    again = await step(loop_client, headers, case["id"], status="resolved")
    assert again["status"] == "resolved"


async def test_closing_needs_root_causes_resolution_and_outcome(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    await root_cause(loop_client, headers, "legacy", active=False)
    case = await open_case(loop_client, service, headers)
    await to_status(loop_client, headers, case["id"], "resolved")
    bare = problem(await change(loop_client, headers, case["id"], status="closed"), 422)
    assert [(e["field"], e["code"]) for e in bare["errors"]] == [
        ("root_causes", "required"),
        ("resolution", "required"),
        ("outcome", "required"),
    ]
    partly = problem(await change(loop_client, headers, case["id"], status="closed", outcome="unreachable"), 422)
    assert [e["field"] for e in partly["errors"]] == ["root_causes", "resolution"]
    for codes in (["nope"], ["legacy"], ["delivery", "nope"]):
        response = await change(loop_client, headers, case["id"], root_causes=codes)
        error = problem(response, 422)["errors"][0]
        assert (error["field"], error["code"]) == ("root_causes", "unknown_code")
    for body in ({"outcome": "happy"}, {"resolution": "  "}, {"root_causes": ["a", "a"]}, {"status": None}):
        problem(await change(loop_client, headers, case["id"], **body), 422)
    before = await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers))
    assert (before["status"], before["outcome"]) == ("resolved", None)  # a failed close changes nothing
    closed = await step(loop_client, headers, case["id"], status="closed", **CLOSING)
    assert (closed["status"], closed["root_causes"], closed["outcome"]) == ("closed", ["delivery"], "recovered")


async def test_a_code_retired_before_the_close_blocks_it(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    case = await open_case(loop_client, service, headers)
    await to_status(loop_client, headers, case["id"], "resolved")
    await step(loop_client, headers, case["id"], root_causes=["delivery"], resolution="Fixed", outcome="recovered")
    listed = await ok(await loop_client.get("/v1/root-causes", headers=headers))
    await loop_client.patch(f"/v1/root-causes/{listed['items'][0]['id']}", json={"active": False}, headers=headers)
    assert "delivery" in problem(await change(loop_client, headers, case["id"], status="closed"), 422)["detail"]


async def test_activities(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW, sub="alice")
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    url = f"/v1/cases/{case['id']}/activities"
    clock.advance(hours=3)
    email = await activity(loop_client, headers, case["id"], kind="email", channel="email", reached_customer=False)
    assert (email["kind"], email["actor"], email["at"]) == ("activity", "alice", "2026-03-02T11:00:00Z")
    assert email["data"] == {
        "kind": "email",
        "channel": "email",
        "text": "Called, apologised",
        "reached_customer": False,
        "first_contact": False,
    }
    earlier = clock.now - dt.timedelta(hours=1)
    call = await activity(loop_client, headers, case["id"], at=earlier.isoformat())
    assert call["data"]["first_contact"] is True
    meeting = await activity(loop_client, headers, case["id"], kind="meeting")
    assert meeting["data"]["first_contact"] is False
    current = await loop_client.get(f"/v1/cases/{case['id']}", headers=headers)
    assert current.json()["first_contact_at"] == "2026-03-02T10:00:00Z"
    assert current.headers["etag"] == '"4"'
    invalid: list[tuple[dict[str, Any], str]] = [
        ({"at": (clock.now + dt.timedelta(hours=1)).isoformat()}, "at"),
        ({"at": (clock.now - dt.timedelta(days=1)).isoformat()}, "at"),
        ({"at": "2026-03-02T10:00:00"}, "at"),
        ({"kind": "note", "reached_customer": True}, "reached_customer"),
        ({"kind": "fax"}, "kind"),
        ({"text": ""}, "text"),
    ]
    for body, field in invalid:
        payload = {"kind": "call", "text": "x", **body}
        assert problem(await loop_client.post(url, json=payload, headers=headers), 422)["errors"][0]["field"] == field


async def test_filters(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    team = await ok(await loop_client.post("/v1/teams", json={"name": "T", "members": ["tm"]}, headers=headers), 201)
    a = await open_case(loop_client, service, headers, unit="emea/de", contact_id="ct_a", survey_id="srv_a")
    b = await open_case(loop_client, service, headers, unit="emea/fr", contact_id="ct_b")
    c = await open_case(loop_client, service, headers, unit="apac", contact_id=None)
    await step(loop_client, headers, a["id"], owner="ann", priority="high", status="in_progress")
    await step(loop_client, headers, b["id"], team=team["id"])

    async def ids(**params: Any) -> list[str]:
        page = await ok(await loop_client.get("/v1/cases", params=params, headers=headers))
        return [item["id"] for item in page["items"]]

    assert await ids() == [a["id"], b["id"], c["id"]]
    assert await ids(status="in_progress") == [a["id"]]
    assert await ids(status="open") == [b["id"], c["id"]]
    assert await ids(owner="ann") == [a["id"]]
    assert await ids(owner="tm", team=team["id"]) == [b["id"]]
    assert await ids(unit="emea") == [a["id"], b["id"]]
    assert await ids(unit="emea/d") == []
    assert await ids(priority="high") == [a["id"]]
    assert await ids(response_id=c["response_id"]) == [c["id"]]
    assert await ids(contact_id="ct_b") == [b["id"]]
    assert await ids(survey_id="srv_a") == [a["id"]]
    assert await ids(sla_state="on_track", overdue="false") == [a["id"], b["id"], c["id"]]
    assert await ids(sla_state="breached") == []
    assert await ids(limit=2) == [a["id"], b["id"]]
    page = await ok(await loop_client.get("/v1/cases", params={"limit": 2}, headers=headers))
    rest = await ok(await loop_client.get("/v1/cases", params={"cursor": page["next_cursor"]}, headers=headers))
    assert [item["id"] for item in rest["items"]] == [c["id"]]
    for params in ({"status": "done"}, {"priority": "p1"}, {"sla_state": "late"}, {"unit": "EMEA"}):
        problem(await loop_client.get("/v1/cases", params=params, headers=headers), 422)


async def test_a_caller_restricted_to_units_sees_only_their_cases(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str]
) -> None:
    headers = auth(scopes=RW)
    berlin = await open_case(loop_client, service, headers, unit="emea/de/berlin")
    paris = await open_case(loop_client, service, headers, unit="emea/fr")
    no_unit = await open_case(loop_client, service, headers, unit=None)
    germany = auth(scopes=RW, units=["emea/de"])
    page = await ok(await loop_client.get("/v1/cases", headers=germany))
    assert [c["id"] for c in page["items"]] == [berlin["id"]]
    for case in (paris, no_unit):
        problem(await loop_client.get(f"/v1/cases/{case['id']}", headers=germany), 404)
        problem(
            await loop_client.patch(
                f"/v1/cases/{case['id']}", json={"owner": "x"}, headers={**germany, "If-Match": "*"}
            ),
            404,
        )
        problem(
            await loop_client.post(
                f"/v1/cases/{case['id']}/activities", json={"kind": "note", "text": "x"}, headers=germany
            ),
            404,
        )
    assert (await ok(await loop_client.get(f"/v1/cases/{berlin['id']}", headers=germany)))["id"] == berlin["id"]
