"""`/v1/outcomes`: partners' business facts about contacts — one, a batch, a CSV file — idempotent, never
creating contacts, each written with its `outcome.recorded` event; erasure removes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from services.survey_api.contacts import outcome_import
from services.survey_api.models import OutboxEvent
from shared.events import OUTCOME_RECORDED
from tests.conftest import TokenFactory
from tests.survey_api.helpers import make_units, ok

WRITE = "contacts:read contacts:write surveys:write"
WHEN = "2026-11-20T09:30:00+01:00"


def outcome(external_id: str = "crm-o-1", contact: str = "crm-ada", **fields: Any) -> dict[str, Any]:
    """An outcome body (a renewal of `contact` unless told)."""
    return {"external_id": external_id, "contact": {"external_id": contact}, "kind": "renewed", "occurred_at": WHEN} | (
        fields
    )


async def contact(
    client: httpx.AsyncClient, headers: dict[str, str], external_id: str = "crm-ada", **fields: Any
) -> str:
    """Create a contact; its id."""
    body = await ok(await client.post("/v1/contacts", json={"external_id": external_id, **fields}, headers=headers))
    return str(body["id"])


async def outbox(app: FastAPI) -> list[OutboxEvent]:
    async with app.state.db.sessions() as session:
        return list((await session.exec(select(OutboxEvent).where(OutboxEvent.event_type == OUTCOME_RECORDED))).all())


async def listed(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    body = await ok(await client.get("/v1/outcomes", params=params, headers=headers), 200)
    items: list[dict[str, Any]] = body["items"]
    return items


class TestRecordOutcome:
    async def test_unauthenticated(self, survey_client: httpx.AsyncClient) -> None:
        assert (await survey_client.post("/v1/outcomes", json=outcome())).status_code == 401

    async def test_missing_scope(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.post("/v1/outcomes", json=outcome(), headers=auth(scopes="contacts:read"))
        assert response.status_code == 403

    async def test_unknown_contact_is_404_and_not_created(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        response = await survey_client.post("/v1/outcomes", json=outcome(contact="crm-nobody"), headers=headers)
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "contact.external_id"
        contacts = await ok(await survey_client.get("/v1/contacts", headers=headers), 200)
        assert contacts["items"] == []
        assert await outbox(survey_app) == []

    async def test_other_tenant(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        await contact(survey_client, auth(scopes=WRITE))
        response = await survey_client.post("/v1/outcomes", json=outcome(), headers=auth(org="globex", scopes=WRITE))
        assert response.status_code == 404

    async def test_contact_outside_token_units_is_unknown(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        await make_units(survey_client, auth(), "emea", "amer")
        await contact(survey_client, headers, unit="amer")
        response = await survey_client.post("/v1/outcomes", json=outcome(), headers=auth(scopes=WRITE, units=["emea"]))
        assert response.status_code == 404

    async def test_valid_then_repeat_answers_the_stored_one(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        ada = await contact(survey_client, headers)
        body = outcome(kind="revenue", value=1250.5)
        created = await ok(await survey_client.post("/v1/outcomes", json=body, headers=headers))
        assert created["id"].startswith("out")
        assert (created["contact_id"], created["kind"], created["value"]) == (ada, "revenue", 1250.5)
        assert dt.datetime.fromisoformat(created["occurred_at"]) == dt.datetime.fromisoformat(WHEN)
        again = await ok(await survey_client.post("/v1/outcomes", json=body, headers=headers), 200)
        assert again == created
        clash = await survey_client.post("/v1/outcomes", json={**body, "value": 99.0}, headers=headers)
        assert clash.status_code == 409
        events = await outbox(survey_app)
        assert len(events) == 1
        data = events[0].payload["data"]
        assert (data["outcome_id"], data["contact_id"], data["kind"], data["value"]) == (
            created["id"],
            ada,
            "revenue",
            1250.5,
        )
        assert set(events[0].destinations) >= {"metrics"}

    async def test_idempotency_key_replays(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await contact(survey_client, headers)
        keyed = {**headers, "Idempotency-Key": "k-1"}
        first = await survey_client.post("/v1/outcomes", json=outcome(), headers=keyed)
        replay = await survey_client.post("/v1/outcomes", json=outcome(), headers=keyed)
        assert (first.status_code, replay.status_code) == (201, 201)
        assert replay.json() == first.json()
        assert replay.headers.get("Idempotent-Replayed") == "true"
        other = await survey_client.post("/v1/outcomes", json=outcome("crm-o-2"), headers=keyed)
        assert other.status_code == 422

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"kind": "revenue"}, "value"),
            ({"kind": "revenue", "value": -1}, "value"),
            ({"kind": "lost"}, "kind"),
            ({"occurred_at": "1900-01-01T00:00:00Z"}, "occurred_at"),
            ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),
            ({"occurred_at": "2026-11-20T09:30:00"}, "occurred_at"),
            ({"contact": {}}, "contact.external_id"),
            ({"surprise": 1}, "surprise"),
        ],
    )
    async def test_invalid_is_422_naming_the_field(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory, fields: dict[str, Any], field: str
    ) -> None:
        headers = auth(scopes=WRITE)
        await contact(survey_client, headers)
        response = await survey_client.post("/v1/outcomes", json=outcome(**fields), headers=headers)
        assert response.status_code == 422, response.text
        assert field in [error["field"] for error in response.json()["errors"]]


class TestOutcomeBatch:
    async def test_each_item_is_accepted_duplicate_or_rejected(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        await contact(survey_client, headers)
        await contact(survey_client, headers, "crm-bob")
        await ok(await survey_client.post("/v1/outcomes", json=outcome("stored"), headers=headers))
        items = [
            outcome("a"),  # 0 accepted
            outcome("b", contact="crm-nobody"),  # 1 unknown contact
            outcome("c", kind="lost"),  # 2 invalid
            outcome("stored"),  # 3 duplicate of a stored one
            outcome("a"),  # 4 duplicate of item 0
            outcome("a", kind="churned"),  # 5 clashes with item 0
            outcome("d", contact="crm-bob", kind="revenue", value=10),  # 6 accepted
        ]
        body = await ok(await survey_client.post("/v1/outcomes/batch", json={"items": items}, headers=headers), 200)
        assert (body["accepted"], body["duplicates"]) == (2, 2)
        assert [(i["index"], i["status"]) for i in body["items"]] == [
            (0, "accepted"),
            (3, "duplicate"),
            (4, "duplicate"),
            (6, "accepted"),
        ]
        assert body["items"][0]["id"] == body["items"][2]["id"]
        rejected = {r["index"]: [e["field"] for e in r["errors"]] for r in body["rejected"]}
        assert rejected == {1: ["contact.external_id"], 2: ["kind"], 5: ["external_id"]}
        assert len(await outbox(survey_app)) == 3  # the stored one and the two accepted
        assert {o["external_id"] for o in await listed(survey_client, headers)} == {"stored", "a", "d"}

    async def test_batch_limits(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await contact(survey_client, headers)
        empty = await survey_client.post("/v1/outcomes/batch", json={"items": []}, headers=headers)
        too_many = [outcome(f"o-{i}") for i in range(1001)]
        over = await survey_client.post("/v1/outcomes/batch", json={"items": too_many}, headers=headers)
        assert (empty.status_code, over.status_code) == (422, 422)
        full = await survey_client.post("/v1/outcomes/batch", json={"items": too_many[:1000]}, headers=headers)
        assert full.status_code == 200 and full.json()["accepted"] == 1000


CSV = (
    "external_id,contact_external_id,kind,value,occurred_at\r\n"
    "r-1,crm-ada,churned,,2026-11-01T10:00:00Z\r\n"  # row 2: accepted
    "r-2,crm-nobody,renewed,,2026-11-01T10:00:00Z\r\n"  # row 3: unknown contact
    "r-3,crm-ada,revenue,,2026-11-01T10:00:00Z\r\n"  # row 4: revenue without value
    "r-4,crm-ada,revenue,abc,2026-11-01T10:00:00Z\r\n"  # row 5: value not a number
    'r-5,crm-ada,revenue,"1,5",2026-11-01T10:00:00Z,extra\r\n'  # row 6: a cell too many
    "r-6,crm-ada,revenue,199.90,2026-11-02T10:00:00+01:00\r\n"  # row 7: accepted
    "r-7,crm-ada,purchase,,yesterday\r\n"  # row 8: not a time
)


class TestOutcomeImport:
    async def post_csv(
        self, client: httpx.AsyncClient, headers: dict[str, str], text: str, media: str = "text/csv"
    ) -> httpx.Response:
        return await client.post(
            "/v1/outcomes/import", content=text.encode(), headers={**headers, "Content-Type": media}
        )

    async def test_rows_with_errors_are_rejected_and_good_rows_kept(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        await contact(survey_client, headers)
        body = await ok(await self.post_csv(survey_client, headers, CSV), 200)
        assert (body["accepted"], body["duplicates"]) == (2, 0)
        assert [(i["index"], i["status"]) for i in body["items"]] == [(2, "accepted"), (7, "accepted")]
        rejected = {r["index"]: [e["field"] for e in r["errors"]] for r in body["rejected"]}
        assert rejected == {3: ["contact_external_id"], 4: ["value"], 5: ["value"], 6: [""], 8: ["occurred_at"]}
        stored = {o["external_id"]: o for o in await listed(survey_client, headers)}
        assert set(stored) == {"r-1", "r-6"}
        assert stored["r-6"]["value"] == 199.9
        again = await ok(await self.post_csv(survey_client, headers, CSV), 200)
        assert (again["accepted"], again["duplicates"]) == (0, 2)

    async def test_idempotency_key_replays_the_import(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        await contact(survey_client, headers)
        keyed = {**headers, "Idempotency-Key": "file-1"}
        first = await ok(await self.post_csv(survey_client, keyed, CSV), 200)
        replay = await self.post_csv(survey_client, keyed, CSV)
        assert replay.json() == first and replay.headers.get("Idempotent-Replayed") == "true"

    async def test_file_level_problems(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        headers = auth(scopes=WRITE)
        wrong_type = await self.post_csv(survey_client, headers, CSV, media="application/json")
        assert wrong_type.status_code == 415
        bad_header = await self.post_csv(survey_client, headers, "external_id,contact,kind\r\nx,y,churned\r\n")
        assert bad_header.status_code == 422
        assert bad_header.json()["errors"][0]["field"] == "header"
        assert (await self.post_csv(survey_client, headers, "")).status_code == 422
        assert (await self.post_csv(survey_client, headers, CSV.splitlines()[0])).status_code == 422
        monkeypatch.setattr(outcome_import, "MAX_BYTES", 100)
        assert (await self.post_csv(survey_client, headers, CSV)).status_code == 413
        monkeypatch.setattr(outcome_import, "MAX_BYTES", 5_000_000)
        monkeypatch.setattr(outcome_import, "MAX_ROWS", 3)
        assert (await self.post_csv(survey_client, headers, CSV)).status_code == 413


class TestListOutcomes:
    async def test_filters_and_pages(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        ada = await contact(survey_client, headers)
        await contact(survey_client, headers, "crm-bob")
        items = [
            outcome("o1", occurred_at="2026-10-01T00:00:00Z"),
            outcome("o2", kind="churned", occurred_at="2026-11-01T00:00:00Z"),
            outcome("o3", contact="crm-bob", kind="churned", occurred_at="2026-11-15T00:00:00Z"),
        ]
        await ok(await survey_client.post("/v1/outcomes/batch", json={"items": items}, headers=headers), 200)

        def ids(found: list[dict[str, Any]]) -> list[str]:
            return [o["external_id"] for o in found]

        reader = auth(scopes="contacts:read")
        assert ids(await listed(survey_client, reader, contact_id=ada)) == ["o1", "o2"]
        assert ids(await listed(survey_client, reader, kind="churned")) == ["o2", "o3"]
        window = {"from": "2026-10-15T00:00:00Z", "to": "2026-11-15T00:00:00Z"}
        assert ids(await listed(survey_client, reader, **window)) == ["o2"]
        page = await ok(await survey_client.get("/v1/outcomes", params={"limit": 2}, headers=reader), 200)
        rest = await ok(
            await survey_client.get("/v1/outcomes", params={"cursor": page["next_cursor"]}, headers=reader), 200
        )
        assert ids(page["items"] + rest["items"]) == ["o1", "o2", "o3"]
        assert (await survey_client.get("/v1/outcomes", headers=auth(scopes="contacts:write"))).status_code == 403

    async def test_token_units_see_their_contacts_outcomes(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        await make_units(survey_client, auth(), "emea", "emea/de", "amer")
        await contact(survey_client, headers, unit="emea/de")
        await contact(survey_client, headers, "crm-bob", unit="amer")
        items = [outcome("o1"), outcome("o2", contact="crm-bob")]
        await ok(await survey_client.post("/v1/outcomes/batch", json={"items": items}, headers=headers), 200)
        emea = auth(scopes="contacts:read", units=["emea"])
        assert [o["external_id"] for o in await listed(survey_client, emea)] == ["o1"]


class TestErasure:
    async def test_erasure_removes_the_contacts_outcomes(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        ada = await contact(survey_client, headers)
        await contact(survey_client, headers, "crm-bob")
        items = [outcome("o1"), outcome("o2", kind="churned"), outcome("o3", contact="crm-bob")]
        await ok(await survey_client.post("/v1/outcomes/batch", json={"items": items}, headers=headers), 200)
        assert (await survey_client.delete(f"/v1/contacts/{ada}", headers=headers)).status_code == 204
        assert [o["external_id"] for o in await listed(survey_client, headers)] == ["o3"]
        late = await survey_client.post("/v1/outcomes", json=outcome("o4"), headers=headers)
        assert late.status_code == 404  # an erased contact keeps no external_id: it is unknown now
