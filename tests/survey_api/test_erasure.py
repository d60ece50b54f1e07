"""`DELETE /v1/contacts/{id}`: erasure — a tombstone, anonymised responses and one `contact.erased` event."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel import select

from services.survey_api.catalog.models import Survey, SurveyVersion
from services.survey_api.models import OutboxEvent, SurveyTable
from services.survey_api.responses.models import SurveyResponse
from shared.events import CONTACT_ERASED, RESPONSE_COMPLETED, EventEnvelope
from shared.ids import new_id
from shared.outbox import add_event
from tests.conftest import TokenFactory

WRITE = "contacts:read contacts:write surveys:read surveys:write"
ADA: dict[str, Any] = {
    "external_id": "crm-ada-7731",
    "email": "ada.lovelace@example.com",
    "phone": "+4930123456",
    "name": "Ada Lovelace",
    "attributes": {"tier": "gold", "nickname": "countess-of-numbers"},
    "consent": {"email": True},
}
PERSONAL = ["crm-ada-7731", "ada.lovelace@example.com", "+4930123456", "Ada Lovelace", "countess-of-numbers"]
QUESTIONS: list[dict[str, Any]] = [
    {"key": "nps", "kind": "nps", "prompt": {"en": "Recommend us?"}},
    {
        "key": "reasons",
        "kind": "reasons",
        "prompt": {"en": "Why?"},
        "options": [{"code": "price", "label": {"en": "Price"}}, {"code": "staff", "label": {"en": "Staff"}}],
        "allow_other": True,
    },
    {"key": "comment", "kind": "text", "prompt": {"en": "Anything else?"}},
]
FULL_ANSWERS = {
    "nps": 3,
    "reasons": ["price", "other"],
    "reasons_other": "the countess-of-numbers deserves better",
    "comment": "Call Ada Lovelace on +4930123456 or ada.lovelace@example.com",
}
BOB_ANSWERS = {"nps": 10, "reasons": ["staff"], "comment": "Great staff"}


async def seed_responses(app: FastAPI, contact_id: str, other_contact_id: str) -> dict[str, str]:
    """A survey with a published version, and responses of the contact (and one of another contact)."""
    now = dt.datetime.now(dt.UTC)
    survey_id = new_id("srv")
    ids = {name: new_id("rsp") for name in ("first", "second", "unknown_version", "other")}
    common: dict[str, Any] = {"org": "acme", "name": "Relationship NPS", "kind": "nps", "languages": ["en"]}
    async with app.state.db.sessions() as session, session.begin():
        session.add(Survey(id=survey_id, default_language="en", questions=QUESTIONS, **common))
        await session.flush()
        session.add(
            SurveyVersion(
                id=new_id("sv"), survey_id=survey_id, version=1, audience="customers", default_language="en",
                questions=QUESTIONS, **common,
            )
        )  # fmt: skip
        for name, response_id in ids.items():
            session.add(
                SurveyResponse(
                    id=response_id,
                    org="acme",
                    survey_id=survey_id,
                    survey_version=2 if name == "unknown_version" else 1,
                    contact_id=other_contact_id if name == "other" else contact_id,
                    channel="email",
                    attributes=dict(ADA["attributes"]) if name != "other" else {"tier": "silver"},
                    answers={"second": {"nps": 9, "comment": "Ada Lovelace here"}, "other": BOB_ANSWERS}.get(
                        name, FULL_ANSWERS
                    ),
                    submitted_at=now,
                )
            )
        data = {"response_id": ids["first"], "survey_id": survey_id, "survey_version": 1, "contact_id": contact_id}
        data |= {"attributes": ADA["attributes"], "answers": FULL_ANSWERS}
        add_event(
            session, OutboxEvent, EventEnvelope(type=RESPONSE_COMPLETED, org="acme", source="survey_api", data=data)
        )
    return ids


async def all_rows(app: FastAPI) -> dict[str, list[str]]:
    """Every row of every survey_api table, stringified, by table name."""
    async with app.state.db.engine.connect() as connection:
        return {
            table.name: [str(tuple(row)) for row in await connection.execute(table.select())]
            for table in SurveyTable.metadata.sorted_tables
        }


async def create_ada(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post("/v1/contacts", json=ADA, headers={**headers, "Idempotency-Key": "ada-1"})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


class TestEraseContact:
    async def test_unauthenticated(self, survey_client: httpx.AsyncClient) -> None:
        response = await survey_client.delete("/v1/contacts/ct_x")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"

    async def test_missing_scope(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        contact = await create_ada(survey_client, auth(scopes=WRITE))
        response = await survey_client.delete(f"/v1/contacts/{contact['id']}", headers=auth(scopes="contacts:read"))
        assert response.status_code == 403
        assert "contacts:write" in response.json()["detail"]

    async def test_other_tenant(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        contact = await create_ada(survey_client, auth(org="acme", scopes=WRITE))
        response = await survey_client.delete(f"/v1/contacts/{contact['id']}", headers=auth(org="globex"))
        assert response.status_code == 404
        assert (await survey_client.get(f"/v1/contacts/{contact['id']}", headers=auth())).json() == contact

    async def test_not_found(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.delete("/v1/contacts/ct_missing", headers=auth(scopes=WRITE))
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    async def test_outside_token_units_is_not_found(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        contact = await create_ada(survey_client, auth(scopes=WRITE))  # no unit: outside every subtree
        response = await survey_client.delete(f"/v1/contacts/{contact['id']}", headers=auth(units=["emea"]))
        assert response.status_code == 404

    async def test_valid(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        contact = await create_ada(survey_client, headers)
        assert (await survey_client.delete(f"/v1/contacts/{contact['id']}", headers=headers)).status_code == 204
        assert (await survey_client.get(f"/v1/contacts/{contact['id']}", headers=headers)).status_code == 404
        assert (await survey_client.delete(f"/v1/contacts/{contact['id']}", headers=headers)).status_code == 404
        listed = await survey_client.get("/v1/contacts", headers=headers)
        assert listed.json()["items"] == []
        again = await survey_client.post("/v1/contacts", json={"external_id": ADA["external_id"]}, headers=headers)
        assert again.status_code == 201  # a new contact: the tombstone keeps no external_id
        assert again.json()["id"] != contact["id"]
        assert again.json()["email"] is None

    async def test_erasure_leaves_no_personal_data(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        ada = await create_ada(survey_client, headers)
        bob = await survey_client.post("/v1/contacts", json={"external_id": "crm-bob"}, headers=headers)
        ids = await seed_responses(survey_app, ada["id"], bob.json()["id"])
        before = await all_rows(survey_app)
        assert any("Ada Lovelace" in row for row in before["idempotency_keys"])  # the check below can fail

        assert (await survey_client.delete(f"/v1/contacts/{ada['id']}", headers=headers)).status_code == 204

        for table, rows in (await all_rows(survey_app)).items():
            for row in rows:
                leaked = [value for value in PERSONAL if value in row]
                assert not leaked, f"{table} still holds {leaked}: {row}"
        async with survey_app.state.db.sessions() as session:
            responses = {r.id: r for r in (await session.exec(select(SurveyResponse))).all()}
            events = (await session.exec(select(OutboxEvent))).all()
        assert responses[ids["first"]].answers == {"nps": 3, "reasons": ["price", "other"]}
        assert responses[ids["second"]].answers == {"nps": 9}
        assert responses[ids["unknown_version"]].answers == {"nps": 3}  # version unknown: numbers only
        for name in ("first", "second", "unknown_version"):
            anonymised = responses[ids[name]]
            assert (anonymised.contact_id, anonymised.attributes) == (None, {})
            assert anonymised.anonymised_at is not None
        other = responses[ids["other"]]
        assert (other.contact_id, other.attributes, other.answers) == (
            bob.json()["id"],
            {"tier": "silver"},
            BOB_ANSWERS,
        )
        assert other.anonymised_at is None

        erased = [e for e in events if e.event_type == CONTACT_ERASED]
        assert len(erased) == 1
        assert erased[0].org == "acme"
        data = erased[0].payload["data"]
        assert data["contact_id"] == ada["id"]
        assert data["response_ids"] == sorted([ids["first"], ids["second"], ids["unknown_version"]])
        completed = next(e for e in events if e.event_type == RESPONSE_COMPLETED)
        assert completed.payload["data"]["answers"] == {"nps": 3, "reasons": ["price", "other"]}
        assert completed.payload["data"]["contact_id"] is None

    async def test_failed_erasure_changes_nothing(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        ada = await create_ada(survey_client, headers)
        await survey_client.delete(f"/v1/contacts/{ada['id']}", headers=headers)
        async with survey_app.state.db.sessions() as session:
            events = (await session.exec(select(OutboxEvent))).all()
        assert [e.event_type for e in events] == [CONTACT_ERASED]  # the second DELETE (404) wrote nothing
        assert (await survey_client.delete(f"/v1/contacts/{ada['id']}", headers=headers)).status_code == 404
        async with survey_app.state.db.sessions() as session:
            assert len((await session.exec(select(OutboxEvent))).all()) == 1
