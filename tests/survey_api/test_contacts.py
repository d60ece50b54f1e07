"""`/v1/contacts`: upsert on external_id with merge semantics, read, list; the five cases of every endpoint."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import TokenFactory

WRITE = "contacts:read contacts:write surveys:read surveys:write"
READ = "contacts:read"


async def make_unit(client: httpx.AsyncClient, headers: dict[str, str], path: str) -> None:
    response = await client.post("/v1/units", json={"path": path, "name": path}, headers=headers)
    assert response.status_code == 201, response.text


async def upsert(client: httpx.AsyncClient, headers: dict[str, str], status: int = 201, **body: Any) -> dict[str, Any]:
    response = await client.post("/v1/contacts", json=body, headers=headers)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


class TestUpsertContact:
    async def test_unauthenticated(self, survey_client: httpx.AsyncClient) -> None:
        response = await survey_client.post("/v1/contacts", json={"external_id": "c-1"})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"

    async def test_missing_scope(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.post("/v1/contacts", json={"external_id": "c-1"}, headers=auth(scopes=READ))
        assert response.status_code == 403
        assert "contacts:write" in response.json()["detail"]

    async def test_other_tenant(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        acme = await upsert(survey_client, auth(org="acme", scopes=WRITE), external_id="c-1", name="Ada")
        globex = await upsert(survey_client, auth(org="globex", scopes=WRITE), external_id="c-1", name="Grace")
        assert globex["id"] != acme["id"]
        again = await survey_client.get(f"/v1/contacts/{acme['id']}", headers=auth(org="acme", scopes=READ))
        assert again.json()["name"] == "Ada"

    async def test_not_found(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.post(
            "/v1/contacts", json={"external_id": "c-1", "unit": "emea"}, headers=auth(scopes=WRITE)
        )
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["unit"]
        assert response.json()["errors"][0]["code"] == "unit_missing"

    async def test_valid(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_unit(survey_client, headers, "emea")
        body = await upsert(
            survey_client,
            headers,
            external_id="crm-42",
            email="Ada@Example.com",
            phone="+4930123456",
            name="Ada Lovelace",
            locale="de",
            unit="emea",
            attributes={"tier": "gold", "orders": 3, "ltv": 12.5, "vip": True},
            consent={"email": True, "sms": False},
        )
        assert set(body) == {
            "id", "external_id", "email", "phone", "name", "locale", "unit", "attributes", "consent",
            "unsubscribed_at", "last_surveyed_at", "created_at", "updated_at",
        }  # fmt: skip
        assert body["id"].startswith("ct_")
        assert body["email"] == "Ada@example.com"
        assert body["attributes"] == {"tier": "gold", "orders": 3, "ltv": 12.5, "vip": True}
        assert body["consent"] == {"email": True, "sms": False}
        assert body["unsubscribed_at"] is None
        fetched = await survey_client.get(f"/v1/contacts/{body['id']}", headers=headers)
        assert fetched.json() == body

    async def test_second_upsert_merges(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        first = await upsert(
            survey_client,
            headers,
            external_id="c-1",
            email="ada@example.com",
            name="Ada",
            attributes={"a": 1, "b": "x"},
            consent={"email": True},
        )
        second = await upsert(
            survey_client,
            headers,
            200,
            external_id="c-1",
            name="Ada L.",
            attributes={"b": None, "c": True},
            consent={"sms": False},
            unsubscribed=True,
        )
        assert second["id"] == first["id"]
        assert second["email"] == "ada@example.com"  # left out: kept
        assert second["name"] == "Ada L."  # sent: replaced
        assert second["attributes"] == {"a": 1, "c": True}  # merged; null deleted `b`
        assert second["consent"] == {"email": True, "sms": False}
        assert second["unsubscribed_at"] is not None
        assert second["created_at"] == first["created_at"]
        assert second["updated_at"] > first["updated_at"]
        third = await upsert(survey_client, headers, 200, external_id="c-1", email=None, unsubscribed=True)
        assert third["email"] is None  # an explicit null clears
        assert third["unsubscribed_at"] == second["unsubscribed_at"]  # already unsubscribed: the stamp stays
        fourth = await upsert(survey_client, headers, 200, external_id="c-1", unsubscribed=False)
        assert fourth["unsubscribed_at"] is None

    async def test_unchanged_upsert_keeps_updated_at(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        first = await upsert(survey_client, headers, external_id="c-1", name="Ada", attributes={"n": 1})
        again = await upsert(survey_client, headers, 200, external_id="c-1", name="Ada", attributes={"n": 1})
        assert again == first
        as_bool = await upsert(survey_client, headers, 200, external_id="c-1", attributes={"n": True})
        assert as_bool["attributes"] == {"n": True}  # `true` is not `1`
        assert as_bool["updated_at"] > first["updated_at"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"email": "not-an-email"}, "email"),
            ({"phone": "030 123456"}, "phone"),
            ({"phone": "+0123456789"}, "phone"),
            ({"phone": "+49\u0663\u0660\u0661\u0662\u0663\u0664\u0665\u0666"}, "phone"),  # Arabic-Indic digits
            ({"attributes": {"address": {"city": "Berlin"}}}, "attributes"),
            ({"attributes": {"tags": ["a"]}}, "attributes"),
            ({"attributes": {"Bad-Key": 1}}, "attributes"),
            ({"attributes": {"note": "x" * 501}}, "attributes"),
            ({"attributes": {f"k{i}": i for i in range(51)}}, "attributes"),
            ({"attributes": None}, "attributes"),
            ({"consent": {"fax": True}}, "consent.fax.[key]"),
            ({"consent": {"email": "yes"}}, "consent.email"),
            ({"locale": "german"}, "locale"),
            ({"name": "x" * 201}, "name"),
            ({"external_id": ""}, "external_id"),
            ({"external_id": "x" * 201}, "external_id"),
            ({"unit": "EMEA"}, "unit"),
            ({"unsubscribed": "yes"}, "unsubscribed"),
            ({"colour": "red"}, "colour"),
        ],
    )
    async def test_invalid_field_is_named(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory, body: dict[str, Any], field: str
    ) -> None:
        response = await survey_client.post("/v1/contacts", json={"external_id": "c-1", **body}, headers=auth())
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field]

    async def test_missing_external_id(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.post("/v1/contacts", json={"name": "Ada"}, headers=auth())
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["external_id"]

    async def test_attribute_limit_counts_the_merged_contact(
        self, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        await upsert(survey_client, headers, external_id="c-1", attributes={f"a{i}": i for i in range(30)})
        response = await survey_client.post(
            "/v1/contacts", json={"external_id": "c-1", "attributes": {f"b{i}": i for i in range(30)}}, headers=headers
        )
        assert response.status_code == 422
        assert response.json()["errors"][0] == {
            "field": "attributes",
            "message": "a contact holds at most 50 attributes; this would make 60",
            "code": "too_many_attributes",
        }

    async def test_unit_restricted_writes(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        admin = auth(scopes=WRITE)
        for path in ["emea", "emea/de", "amer"]:
            await make_unit(survey_client, admin, path)
        await upsert(survey_client, admin, external_id="us-1", unit="amer")
        emea = auth(scopes=WRITE, units=["emea"])
        created = await upsert(survey_client, emea, external_id="de-1", unit="emea/de")
        assert created["unit"] == "emea/de"
        for body in [
            {"external_id": "us-2", "unit": "amer"},  # outside its units
            {"external_id": "none-1"},  # a contact without a unit is outside every subtree
            {"external_id": "de-1", "unit": None},  # moving its own contact out
            {"external_id": "us-1", "name": "x"},  # someone else's contact
        ]:
            response = await survey_client.post("/v1/contacts", json=body, headers=emea)
            assert response.status_code == 403, body

    async def test_idempotency_key_replays(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = {**auth(scopes=WRITE), "Idempotency-Key": "k-1"}
        first = await survey_client.post("/v1/contacts", json={"external_id": "c-1"}, headers=headers)
        again = await survey_client.post("/v1/contacts", json={"external_id": "c-1"}, headers=headers)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()


class TestGetContact:
    async def test_unauthenticated(self, survey_client: httpx.AsyncClient) -> None:
        assert (await survey_client.get("/v1/contacts/ct_x")).status_code == 401

    async def test_missing_scope(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.get("/v1/contacts/ct_x", headers=auth(scopes="surveys:read"))
        assert response.status_code == 403

    async def test_other_tenant(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        contact = await upsert(survey_client, auth(org="acme", scopes=WRITE), external_id="c-1")
        response = await survey_client.get(f"/v1/contacts/{contact['id']}", headers=auth(org="globex", scopes=READ))
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    async def test_not_found(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        assert (await survey_client.get("/v1/contacts/ct_missing", headers=auth(scopes=READ))).status_code == 404

    async def test_valid(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        contact = await upsert(survey_client, auth(scopes=WRITE), external_id="c-1", name="Ada")
        response = await survey_client.get(f"/v1/contacts/{contact['id']}", headers=auth(scopes=READ))
        assert response.status_code == 200
        assert response.json() == contact

    async def test_outside_token_units_is_not_found(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        admin = auth(scopes=WRITE)
        await make_unit(survey_client, admin, "amer")
        in_amer = await upsert(survey_client, admin, external_id="c-1", unit="amer")
        no_unit = await upsert(survey_client, admin, external_id="c-2")
        emea = auth(scopes=READ, units=["emea"])
        for contact in (in_amer, no_unit):
            assert (await survey_client.get(f"/v1/contacts/{contact['id']}", headers=emea)).status_code == 404


class TestListContacts:
    async def test_unauthenticated(self, survey_client: httpx.AsyncClient) -> None:
        assert (await survey_client.get("/v1/contacts")).status_code == 401

    async def test_missing_scope(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        assert (await survey_client.get("/v1/contacts", headers=auth(scopes="surveys:read"))).status_code == 403

    async def test_other_tenant(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        await upsert(survey_client, auth(org="acme", scopes=WRITE), external_id="c-1")
        response = await survey_client.get("/v1/contacts", headers=auth(org="globex", scopes=READ))
        assert response.json() == {"items": [], "next_cursor": None}

    async def test_not_found(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        await upsert(survey_client, auth(scopes=WRITE), external_id="c-1")
        response = await survey_client.get("/v1/contacts", params={"external_id": "nope"}, headers=auth(scopes=READ))
        assert response.status_code == 200
        assert response.json()["items"] == []

    async def test_valid(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        ids = [(await upsert(survey_client, headers, external_id=f"c-{i}"))["id"] for i in range(5)]
        seen, cursor = [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await survey_client.get("/v1/contacts", params=params, headers=headers)).json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ids

    async def test_filters(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        for path in ["emea", "emea/de", "em"]:
            await make_unit(survey_client, headers, path)
        ada = await upsert(survey_client, headers, external_id="c-1", email="ada@example.com", unit="emea/de")
        bob = await upsert(survey_client, headers, external_id="c-2", email="bob@example.com", unit="em")
        await upsert(survey_client, headers, external_id="c-3", unit="emea")

        async def ids(**params: str) -> list[str]:
            response = await survey_client.get("/v1/contacts", params=params, headers=headers)
            assert response.status_code == 200, response.text
            return [c["external_id"] for c in response.json()["items"]]

        assert await ids(external_id="c-2") == ["c-2"]
        assert await ids(email="ADA@example.com") == ["c-1"]
        assert await ids(unit="emea") == ["c-1", "c-3"]
        assert await ids(updated_since=bob["updated_at"]) == ["c-2", "c-3"]
        await upsert(survey_client, headers, 200, external_id="c-1", name="Ada")
        assert await ids(updated_since=bob["updated_at"]) == ["c-1", "c-2", "c-3"]
        assert ada["id"] < bob["id"]

    async def test_invalid_filters(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        for params, field in [
            ({"updated_since": "2026-01-01T00:00:00"}, "updated_since"),  # no timezone
            ({"unit": "EMEA"}, "unit"),
            ({"cursor": "garbage"}, "cursor"),
        ]:
            response = await survey_client.get("/v1/contacts", params=params, headers=auth(scopes=READ))
            assert response.status_code == 422, params
            assert response.json()["errors"][0]["field"] == field

    async def test_unit_restricted_visibility(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        admin = auth(scopes=WRITE)
        for path in ["emea", "emea/de", "amer"]:
            await make_unit(survey_client, admin, path)
        await upsert(survey_client, admin, external_id="de", unit="emea/de")
        await upsert(survey_client, admin, external_id="us", unit="amer")
        await upsert(survey_client, admin, external_id="none")
        response = await survey_client.get("/v1/contacts", headers=auth(scopes=READ, units=["emea"]))
        assert [c["external_id"] for c in response.json()["items"]] == ["de"]
        everyone = await survey_client.get("/v1/contacts", headers=auth(scopes=READ))
        assert [c["external_id"] for c in everyone.json()["items"]] == ["de", "us", "none"]
