"""Cases a CX team can trust: whose answers open cases, how old they may be, and what a closed case keeps."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from shared.events import (
    FOLLOWUP_INVITED_EVENT,
    FollowupInvitedData,
    InvitationData,
    build_event,
    invitation_event_type,
)
from tests.conftest import TokenFactory
from tests.loop_api.events import deliver, response_event
from tests.loop_api.helpers import RW, FakeClock, activity, case_of, change, ok, open_case, problem, root_cause, step
from tests.loop_api.test_followup import CLOSING, closed_case
from tests.loop_api.test_rules import URL, make_rule


async def opened(client: httpx.AsyncClient, service: dict[str, str], headers: dict[str, str], **event: Any) -> bool:
    """Deliver one response event; whether it opened a case."""
    envelope = response_event(**event)
    await deliver(client, service, envelope)
    return await case_of(client, headers, envelope.data["response_id"]) is not None


async def test_employee_and_followup_answers_open_no_case_by_default(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    [default] = (await ok(await loop_client.get(URL, headers=headers)))["items"]
    assert (default["audience"], default["purpose"]) == ("customers", "standard")
    at = {"submitted_at": clock.now}
    assert await opened(loop_client, service, headers, **at)  # a customer detractor: the default rule
    assert not await opened(loop_client, service, headers, audience="employees", **at)
    assert not await opened(loop_client, service, headers, purpose="followup", **at)


async def test_a_rule_must_name_employees_or_followups_to_open_their_cases(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    customers = await make_rule(loop_client, headers)
    assert (customers["audience"], customers["purpose"]) == ("customers", "standard")
    employees = await make_rule(loop_client, headers, name="eNPS detractors", audience="employees")
    at = {"submitted_at": clock.now}
    assert await opened(loop_client, service, headers, audience="employees", **at)
    assert not await opened(loop_client, service, headers, purpose="followup", **at)
    await make_rule(loop_client, headers, name="Not recovered", purpose="followup")
    assert await opened(loop_client, service, headers, purpose="followup", **at)
    assert not await opened(loop_client, service, headers, audience="employees", purpose="followup", **at)
    refused = await loop_client.patch(f"{URL}/{employees['id']}", json={"audience": None}, headers=headers)
    assert "audience" in problem(refused, 422)["detail"]
    wrong = await loop_client.post(URL, json={**customers, "audience": "partners"}, headers=headers)
    assert problem(wrong, 422)["status"] == 422


async def test_a_followup_answer_records_the_recovery_without_a_new_case(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    case = await closed_case(loop_client, service, headers, clock, contact_id="ct_9")
    backdated = response_event(contact_id="ct_9", answers={"nps": 9}, submitted_at=clock.now - dt.timedelta(days=2))
    backdated.data["completed_at"] = clock.now.isoformat()  # arrives after the close, answered before it
    await deliver(loop_client, service, backdated)
    assert (await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers)))["recovery"] is None
    clock.advance(days=1)
    answer = {"contact_id": "ct_9", "answers": {"nps": 5}, "purpose": "followup", "submitted_at": clock.now}
    assert not await opened(loop_client, service, headers, **answer)
    detail = await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers))
    assert (detail["recovery"]["score_after"], detail["recovery"]["saved"]) == (5, False)


async def test_age_runs_from_submitted_at_not_from_arrival(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    backdated = response_event(submitted_at=clock.now - dt.timedelta(days=31))
    backdated.data["completed_at"] = clock.now.isoformat()  # arrived (and completed) just now
    recent = response_event(submitted_at=clock.now - dt.timedelta(days=29))
    recent.data["completed_at"] = clock.now.isoformat()
    await deliver(loop_client, service, backdated, recent)
    assert await case_of(loop_client, headers, backdated.data["response_id"]) is None
    assert await case_of(loop_client, headers, recent.data["response_id"]) is not None


async def test_a_closed_case_keeps_what_closing_required(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    case = await closed_case(loop_client, service, headers, clock)
    for field, empty in (("outcome", None), ("resolution", None), ("root_causes", [])):
        body = problem(await change(loop_client, headers, case["id"], **{field: empty}), 422)
        assert [e["field"] for e in body["errors"]] == [field]
    kept = await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers))
    assert {k: kept[k] for k in CLOSING} == CLOSING
    changed = await step(loop_client, headers, case["id"], outcome="not_recovered")  # changing, not emptying
    assert changed["outcome"] == "not_recovered"
    reopened = await step(loop_client, headers, case["id"], status="in_progress", outcome=None)
    assert (reopened["status"], reopened["outcome"]) == ("in_progress", None)


def invitation_step(invitation_id: str, status: str, at: dt.datetime) -> Any:
    data = InvitationData(
        invitation_id=invitation_id,
        distribution_id=None,
        survey_id="srv_followup",
        channel="email",
        contact_id="ct_1",
        unit=None,
        touchpoint_id=None,
        status=status,
        at=at,
    )
    return build_event(invitation_event_type(status), org="acme", data=data)


async def test_the_case_shows_its_followup_invitation(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    await root_cause(loop_client, headers, "delivery")
    case = await closed_case(loop_client, service, headers, clock)
    assert case["followup"] == {"invitation_id": None, "status": "requested", "sent_at": None}
    invited = FollowupInvitedData(case_id=case["id"], invitation_id="inv_1", status="scheduled")
    sent_at = clock.now + dt.timedelta(minutes=3)
    await deliver(
        loop_client,
        service,
        FOLLOWUP_INVITED_EVENT.envelope(org="acme", data=invited),
        invitation_step("inv_1", "sent", sent_at),
        invitation_step("inv_other", "sent", sent_at),  # a distribution's invitation: not a case's
        invitation_step("inv_1", "delivered", sent_at),
    )
    detail = await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers))
    assert detail["followup"] == {"invitation_id": "inv_1", "status": "delivered", "sent_at": "2026-03-02T09:03:00Z"}
    assert [e["data"] for e in detail["timeline"] if e["kind"] == "followup_invited"] == [
        {"invitation_id": "inv_1", "status": "scheduled"}
    ]
    other_org = FOLLOWUP_INVITED_EVENT.envelope(org="globex", data=invited.model_copy(update={"status": "x"}))
    await deliver(loop_client, service, other_org)
    assert (await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers)))["followup"]["status"] == (
        "delivered"
    )


async def test_an_open_case_has_no_followup(
    loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    headers = auth(scopes=RW)
    case = await open_case(loop_client, service, headers, submitted_at=clock.now)
    await activity(loop_client, headers, case["id"])
    assert (await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=headers)))["followup"] is None
