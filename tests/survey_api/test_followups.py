"""Case follow-ups: a `followup.requested` from loop_api becomes an invitation to the follow-up survey."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import select

from services.survey_api.catalog.models import Survey
from services.survey_api.models import OutboxEvent
from services.survey_api.outreach.models import Invitation
from shared.events import EventEnvelope
from tests.conftest import TokenFactory
from tests.survey_api.helpers import ALL, NPS_PLUS, make_units, ok, published_survey


async def request_followup(
    client: httpx.AsyncClient, auth: TokenFactory, contact_id: str, case: str = "case_1"
) -> None:
    envelope = EventEnvelope(
        type="followup.requested",
        org="acme",
        source="loop_api",
        data={"case_id": case, "contact_id": contact_id, "survey_id": "survey_x", "unit": None, "outcome": "recovered"},
    )
    receipt = await client.post(
        "/internal/v1/events",
        json={"events": [envelope.model_dump(mode="json")]},
        headers=auth(org="system", scopes="events:write"),
    )
    assert receipt.status_code == 200 and receipt.json()["processed"] == 1, receipt.text


async def contact(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> str:
    created = await ok(await client.post("/v1/contacts", json={"external_id": "c-1", **fields}, headers=headers))
    return str(created["id"])


async def invitations(app: FastAPI) -> list[Invitation]:
    async with app.state.db.sessions() as session:
        return list((await session.exec(select(Invitation).order_by(Invitation.id))).all())


async def test_built_in_follow_up_survey_by_email(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    headers = auth(**ALL)
    contact_id = await contact(survey_client, headers, email="ann@example.com", locale="de")
    await request_followup(survey_client, auth, contact_id)
    await request_followup(survey_client, auth, contact_id, case="case_2")
    first, second = await invitations(survey_app)
    assert (first.channel, first.status, first.contact_id, first.language) == ("email", "scheduled", contact_id, "de")
    assert first.survey_id == second.survey_id  # made once, then reused
    async with survey_app.state.db.sessions() as session:
        survey = await session.get(Survey, first.survey_id)
    assert survey is not None and (survey.name, survey.status) == ("Case follow-up", "active")
    org = await ok(await survey_client.get("/v1/org-settings", headers=auth(scopes="admin")), 200)
    assert org["followup_survey_id"] == survey.id


async def test_configured_survey_and_channel(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    headers = auth(**ALL)
    await make_units(survey_client, headers, "emea")
    chosen = await published_survey(survey_client, headers, {**NPS_PLUS, "purpose": "followup"})
    settings = {"followup_survey_id": chosen["id"], "followup_channel": "link"}
    await ok(await survey_client.put("/v1/org-settings", json=settings, headers=auth(scopes="admin")), 200)
    await request_followup(survey_client, auth, await contact(survey_client, headers, email="ann@example.com"))
    [invitation] = await invitations(survey_app)
    assert (invitation.survey_id, invitation.channel, invitation.status) == (chosen["id"], "link", "delivered")


async def test_unsubscribed_contact_is_suppressed_and_unknown_is_skipped(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    headers = auth(**ALL)
    contact_id = await contact(survey_client, headers, email="ann@example.com", unsubscribed=True)
    await request_followup(survey_client, auth, contact_id)
    await request_followup(survey_client, auth, "ct_unknown", case="case_2")
    [invitation] = await invitations(survey_app)
    assert (invitation.status, invitation.reason) == ("suppressed", "unsubscribed")


async def test_loop_api_is_told_the_invitation_or_that_none_was_sent(
    survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
) -> None:
    headers = auth(**ALL)
    contact_id = await contact(survey_client, headers, email="ann@example.com")
    await request_followup(survey_client, auth, contact_id)
    await request_followup(survey_client, auth, "ct_unknown", case="case_2")
    [invitation] = await invitations(survey_app)
    async with survey_app.state.db.sessions() as session:
        statement = select(OutboxEvent).where(OutboxEvent.event_type == "followup.invited")
        told = [(e.destinations, e.payload) for e in (await session.exec(statement.order_by(OutboxEvent.id))).all()]
    assert [destinations for destinations, _ in told] == [["loop", "webhooks"], ["loop", "webhooks"]]
    assert sorted((payload["data"] for _, payload in told), key=lambda d: d["case_id"]) == [
        {"case_id": "case_1", "invitation_id": invitation.id, "status": "scheduled", "sent_at": None},
        {"case_id": "case_2", "invitation_id": None, "status": "not_sent", "sent_at": None},
    ]
