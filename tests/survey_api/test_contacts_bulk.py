"""`POST /v1/contacts/bulk`: per-item validation and outcomes, in-order duplicates, constant queries per chunk."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event

from tests.conftest import TokenFactory

WRITE = "contacts:read contacts:write surveys:read surveys:write"


async def bulk(client: httpx.AsyncClient, headers: dict[str, str], items: list[Any]) -> dict[str, Any]:
    response = await client.post("/v1/contacts/bulk", json={"items": items}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@contextmanager
def count_statements(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends while the block runs (an executemany counts once per batch)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


class TestBulkUpsert:
    async def test_unauthenticated(self, survey_client: httpx.AsyncClient) -> None:
        response = await survey_client.post("/v1/contacts/bulk", json={"items": []})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"

    async def test_missing_scope(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.post(
            "/v1/contacts/bulk", json={"items": []}, headers=auth(scopes="contacts:read")
        )
        assert response.status_code == 403

    async def test_other_tenant(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        acme = await bulk(survey_client, auth(org="acme", scopes=WRITE), [{"external_id": "c-1", "name": "Ada"}])
        globex = await bulk(survey_client, auth(org="globex", scopes=WRITE), [{"external_id": "c-1"}])
        assert globex["created"] == 1
        assert globex["items"][0]["id"] != acme["items"][0]["id"]
        mine = await survey_client.get(f"/v1/contacts/{acme['items'][0]['id']}", headers=auth(org="acme"))
        assert mine.json()["name"] == "Ada"

    async def test_not_found(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        result = await bulk(survey_client, auth(scopes=WRITE), [{"external_id": "c-1", "unit": "nowhere"}])
        assert result["rejected"] == 1
        assert result["items"][0]["errors"][0]["field"] == "unit"
        assert result["items"][0]["errors"][0]["code"] == "unit_missing"

    async def test_valid(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await survey_client.post("/v1/units", json={"path": "emea", "name": "EMEA"}, headers=headers)
        await bulk(survey_client, headers, [{"external_id": "old-1", "name": "A"}, {"external_id": "old-2"}])
        result = await bulk(
            survey_client,
            headers,
            [
                {"external_id": "new-1", "email": "new@example.com", "unit": "emea"},
                {"external_id": "old-1", "name": "B"},
                {"external_id": "old-2"},
                {"external_id": "bad-1", "email": "nope", "phone": "12"},
                "not an object",
                {"external_id": "bad-2", "attributes": {"nested": {"a": 1}}},
                {"name": "no external id"},
            ],
        )
        assert {k: result[k] for k in ("created", "updated", "unchanged", "rejected")} == {
            "created": 1,
            "updated": 1,
            "unchanged": 1,
            "rejected": 4,
        }
        items = result["items"]
        assert [i["index"] for i in items] == list(range(7))
        assert [i["status"] for i in items] == [
            "created", "updated", "unchanged", "rejected", "rejected", "rejected", "rejected",
        ]  # fmt: skip
        assert all(i["id"].startswith("ct_") and i["errors"] is None for i in items[:3])
        assert {e["field"] for e in items[3]["errors"]} == {"email", "phone"}
        assert items[3]["id"] is None
        assert items[4]["errors"][0]["field"] == "item"
        assert [e["field"] for e in items[5]["errors"]] == ["attributes"]
        assert [e["field"] for e in items[6]["errors"]] == ["external_id"]
        created = await survey_client.get(f"/v1/contacts/{items[0]['id']}", headers=headers)
        assert created.json()["unit"] == "emea"
        updated = await survey_client.get(f"/v1/contacts/{items[1]['id']}", headers=headers)
        assert updated.json()["name"] == "B"

    async def test_duplicates_apply_in_order(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        result = await bulk(
            survey_client,
            headers,
            [
                {"external_id": "c-1", "name": "First", "attributes": {"a": 1}},
                {"external_id": "c-1", "name": "Second", "attributes": {"b": 2}},
                {"external_id": "c-1", "name": "Second"},
            ],
        )
        assert [i["status"] for i in result["items"]] == ["created", "updated", "unchanged"]
        assert len({i["id"] for i in result["items"]}) == 1
        contact = (await survey_client.get(f"/v1/contacts/{result['items'][0]['id']}", headers=headers)).json()
        assert contact["name"] == "Second"  # the later item wins
        assert contact["attributes"] == {"a": 1, "b": 2}  # as if the items were sent one by one

    async def test_unit_restricted_items(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        admin = auth(scopes=WRITE)
        for path in ["emea", "amer"]:
            await survey_client.post("/v1/units", json={"path": path, "name": path}, headers=admin)
        result = await bulk(
            survey_client,
            auth(scopes=WRITE, units=["emea"]),
            [{"external_id": "e", "unit": "emea"}, {"external_id": "a", "unit": "amer"}, {"external_id": "n"}],
        )
        assert [i["status"] for i in result["items"]] == ["created", "rejected", "rejected"]
        assert result["items"][1]["errors"][0]["field"] == "unit"
        assert result["items"][1]["errors"][0]["code"] == "forbidden"

    async def test_more_than_10000_items(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        items = [{"external_id": f"c-{i}"} for i in range(10_001)]
        response = await survey_client.post("/v1/contacts/bulk", json={"items": items}, headers=auth(scopes=WRITE))
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "items"

    async def test_thousands_then_update(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        items = [{"external_id": f"c-{i}", "email": f"c{i}@example.com", "attributes": {"n": i}} for i in range(2500)]
        first = await bulk(survey_client, headers, items)
        assert (first["created"], first["rejected"]) == (2500, 0)
        changed = [dict(item, name="Renamed") if i % 2 else item for i, item in enumerate(items)]
        changed[7] = {"external_id": "c-7", "phone": "bad"}
        with count_statements(survey_app) as statements:
            second = await bulk(survey_client, headers, changed)
        assert {k: second[k] for k in ("created", "updated", "unchanged", "rejected")} == {
            "created": 0,
            "updated": 1249,
            "unchanged": 1250,
            "rejected": 1,
        }
        assert [i["id"] for i in second["items"] if i["status"] != "rejected"] == [
            i["id"] for n, i in enumerate(first["items"]) if n != 7
        ]
        assert len(statements) <= 20, statements
        page = await survey_client.get("/v1/contacts", params={"external_id": "c-9"}, headers=headers)
        assert page.json()["items"][0]["name"] == "Renamed"

    async def test_10000_items_without_a_query_per_item(
        self, survey_app: FastAPI, survey_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=WRITE)
        await survey_client.post("/v1/units", json={"path": "emea", "name": "EMEA"}, headers=headers)
        items = [
            {"external_id": f"c-{i}", "name": f"Contact {i}", "unit": "emea", "consent": {"email": True}}
            for i in range(10_000)
        ]
        with count_statements(survey_app) as statements:
            result = await bulk(survey_client, headers, items)
        assert result["created"] == 10_000
        assert len(statements) <= 40, len(statements)  # 10 chunks x (contacts, units, insert) = 30
        listed = await survey_client.get("/v1/contacts", params={"limit": 1, "unit": "emea"}, headers=headers)
        assert listed.json()["items"][0]["external_id"] == "c-0"
