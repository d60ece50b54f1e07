"""The whole inner loop over HTTP: event in → case → activities → resolve → close → follow-up → saved."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel import select

from services.loop_api.models import OutboxEvent
from tests.conftest import TokenFactory
from tests.loop_api.events import deliver, response_event
from tests.loop_api.helpers import RW, FakeClock, activity, case_of, ok, root_cause, step


async def test_detractor_is_contacted_fixed_and_saved(
    loop_client: httpx.AsyncClient, loop_app: FastAPI, auth: TokenFactory, service: dict[str, str], clock: FakeClock
) -> None:
    agent = auth(scopes=RW, sub="alice")
    await root_cause(loop_client, agent, "delivery")
    await root_cause(loop_client, agent, "delivery.late", parent_code="delivery")

    # A detractor's response arrives: the default rule opens a case in the queue of its unit.
    event = response_event(answers={"nps": 2, "why": "Late again"}, contact_id="ct_7", submitted_at=clock.now)
    assert (await deliver(loop_client, service, event))["processed"] == 1
    case = await case_of(loop_client, agent, event.data["response_id"])
    assert case is not None
    assert (case["status"], case["priority"], case["owner"], case["queue"]) == (
        "open",
        "normal",
        None,
        "emea/de/berlin",
    )
    assert case["rule_id"] == "rule_default"
    assert case["snapshot"]["answers"] == {"nps": 2, "why": "Late again"}
    assert case["sla_state"] == "on_track"

    # Alice takes it, calls, reaches the customer, fixes it.
    clock.advance(hours=2)
    await step(loop_client, agent, case["id"], owner="alice", status="in_progress")
    clock.advance(hours=1)
    await activity(loop_client, agent, case["id"], kind="note", text="Will call back", reached_customer=False)
    call = await activity(loop_client, agent, case["id"])
    assert call["data"]["first_contact"] is True
    resolved = await step(
        loop_client,
        agent,
        case["id"],
        status="resolved",
        root_causes=["delivery.late"],
        resolution="Refunded shipping, new courier",
        outcome="recovered",
    )
    assert resolved["first_contact_at"] == clock.now.isoformat().replace("+00:00", "Z")
    closed = await step(loop_client, agent, case["id"], status="closed")
    assert closed["status"] == "closed"
    assert closed["followup_requested_at"] is not None

    # The follow-up request waits in the outbox for survey_api, written with the close.
    async with loop_app.state.db.sessions() as session:
        pending = (await session.exec(select(OutboxEvent).where(OutboxEvent.event_type == "followup.requested"))).all()
    assert len(pending) == 1
    assert (pending[0].status, pending[0].destinations) == ("pending", ["survey", "webhooks"])
    data = pending[0].payload["data"]
    assert data == {
        "case_id": case["id"],
        "contact_id": "ct_7",
        "survey_id": "srv_1",
        "unit": "emea/de/berlin",
        "response_id": event.data["response_id"],
        "language": "en",
        "outcome": "recovered",
    }

    # The customer's next response: a promoter. The case records the recovery, no new case opens.
    clock.advance(days=3)
    answer = response_event(answers={"nps": 9}, contact_id="ct_7", submitted_at=clock.now)
    await deliver(loop_client, service, answer)
    assert await case_of(loop_client, agent, answer.data["response_id"]) is None
    detail = await ok(await loop_client.get(f"/v1/cases/{case['id']}", headers=agent))
    assert detail["recovery"]["score_before"] == 2
    assert detail["recovery"]["score_after"] == 9
    assert detail["recovery"]["saved"] is True
    assert detail["recovery"]["response_id"] == answer.data["response_id"]
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds == [
        "opened",
        "owner_changed",
        "status_changed",
        "activity",
        "activity",
        "root_causes_changed",
        "resolution_changed",
        "outcome_changed",
        "status_changed",
        "status_changed",
        "followup_requested",
        "recovery_recorded",
    ]
    assert {e["actor"] for e in detail["timeline"][1:-2]} == {"alice"}
    assert detail["timeline"][0]["actor"] == detail["timeline"][-1]["actor"] == "system:loop"
