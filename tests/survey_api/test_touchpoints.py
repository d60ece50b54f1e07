"""`/v1/touchpoints`: the points of the customer journeys, with the five cases every endpoint has."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import TokenFactory

WRITE = "surveys:read surveys:write"
READ = "surveys:read"
PROBLEM = "application/problem+json"
Client = httpx.AsyncClient


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of an error response, after checking its status and content type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


async def make_touchpoint(
    client: Client, headers: dict[str, str], name: str = "Delivery", journey: str = "purchase", stage: str = "fulfil"
) -> dict[str, Any]:
    response = await client.post(
        "/v1/touchpoints", json={"name": name, "journey": journey, "stage": stage}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def list_names(client: Client, headers: dict[str, str], **params: str) -> list[str]:
    response = await client.get("/v1/touchpoints", params={**params, "limit": "500"}, headers=headers)
    assert response.status_code == 200, response.text
    return [item["name"] for item in response.json()["items"]]


class TestCreateTouchpoint:
    async def test_unauthenticated(self, survey_client: Client) -> None:
        response = await survey_client.post("/v1/touchpoints", json={"name": "a", "journey": "b", "stage": "c"})
        assert problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_missing_scope(self, survey_client: Client, auth: TokenFactory) -> None:
        response = await survey_client.post(
            "/v1/touchpoints", json={"name": "a", "journey": "b", "stage": "c"}, headers=auth(scopes=READ)
        )
        assert "surveys:write" in problem(response, 403)["detail"]

    async def test_other_tenant(self, survey_client: Client, auth: TokenFactory) -> None:
        # The same journey and name in another org is another touchpoint, invisible to the first.
        acme = await make_touchpoint(survey_client, auth(org="acme", scopes=WRITE))
        globex = await make_touchpoint(survey_client, auth(org="globex", scopes=WRITE))
        assert acme["id"] != globex["id"]
        assert await list_names(survey_client, auth(org="globex", scopes=READ)) == ["Delivery"]

    async def test_not_found(self, survey_client: Client, auth: TokenFactory) -> None:
        # A refused create leaves nothing behind to be found.
        headers = auth(scopes=WRITE)
        problem(await survey_client.post("/v1/touchpoints", json={"name": "x"}, headers=headers), 422)
        assert await list_names(survey_client, headers) == []

    async def test_valid(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        created = await make_touchpoint(survey_client, headers, name="  Parcel delivered ", stage="delivery")
        assert created["id"].startswith("tp_")
        assert (created["name"], created["journey"], created["stage"]) == ("Parcel delivered", "purchase", "delivery")
        fetched = await survey_client.get(f"/v1/touchpoints/{created['id']}", headers=auth(scopes=READ))
        assert (fetched.status_code, fetched.json()) == (200, created)

    async def test_duplicate_name_in_journey_is_conflict(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_touchpoint(survey_client, headers, name="Delivery", journey="purchase")
        await make_touchpoint(survey_client, headers, name="Delivery", journey="returns")  # another journey: fine
        again = await survey_client.post(
            "/v1/touchpoints", json={"name": "Delivery", "journey": "purchase", "stage": "other"}, headers=headers
        )
        assert "Delivery" in problem(again, 409)["detail"]

    async def test_idempotent_retry(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = {**auth(scopes=WRITE), "Idempotency-Key": "tp-1"}
        body = {"name": "Checkout", "journey": "purchase", "stage": "buy"}
        first = await survey_client.post("/v1/touchpoints", json=body, headers=headers)
        second = await survey_client.post("/v1/touchpoints", json=body, headers=headers)
        assert (first.status_code, second.status_code) == (201, 201)
        assert second.json() == first.json()
        assert second.headers["idempotent-replayed"] == "true"

    async def test_each_invalid_field_is_listed(self, survey_client: Client, auth: TokenFactory) -> None:
        body = {"name": "", "journey": "x" * 101, "colour": "red"}
        response = await survey_client.post("/v1/touchpoints", json=body, headers=auth(scopes=WRITE))
        assert {e["field"] for e in problem(response, 422)["errors"]} == {"name", "journey", "stage", "colour"}


class TestListTouchpoints:
    async def test_unauthenticated(self, survey_client: Client) -> None:
        problem(await survey_client.get("/v1/touchpoints"), 401)

    async def test_missing_scope(self, survey_client: Client, auth: TokenFactory) -> None:
        response = await survey_client.get("/v1/touchpoints", headers=auth(scopes="contacts:read"))
        assert "surveys:read" in problem(response, 403)["detail"]

    async def test_other_tenant(self, survey_client: Client, auth: TokenFactory) -> None:
        await make_touchpoint(survey_client, auth(org="acme", scopes=WRITE))
        response = await survey_client.get("/v1/touchpoints", headers=auth(org="globex", scopes=READ))
        assert response.json() == {"items": [], "next_cursor": None}

    async def test_not_found(self, survey_client: Client, auth: TokenFactory) -> None:
        # A filter that matches nothing is an empty page, not a 404.
        await make_touchpoint(survey_client, auth(scopes=WRITE))
        response = await survey_client.get("/v1/touchpoints", params={"journey": "nope"}, headers=auth(scopes=READ))
        assert (response.status_code, response.json()) == (200, {"items": [], "next_cursor": None})

    async def test_valid(self, survey_client: Client, auth: TokenFactory) -> None:
        created = await make_touchpoint(survey_client, auth(scopes=WRITE))
        response = await survey_client.get("/v1/touchpoints", headers=auth(scopes=READ))
        assert (response.status_code, response.json()) == (200, {"items": [created], "next_cursor": None})

    async def test_filters(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_touchpoint(survey_client, headers, "Checkout", "purchase", "buy")
        await make_touchpoint(survey_client, headers, "Delivery", "purchase", "fulfil")
        await make_touchpoint(survey_client, headers, "Refund", "returns", "fulfil")
        assert await list_names(survey_client, headers, journey="purchase") == ["Checkout", "Delivery"]
        assert await list_names(survey_client, headers, stage="fulfil") == ["Delivery", "Refund"]
        assert await list_names(survey_client, headers, journey="returns", stage="fulfil") == ["Refund"]

    async def test_pagination(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        created = [(await make_touchpoint(survey_client, headers, name=f"tp {i}"))["id"] for i in range(12)]
        seen: list[str] = []
        params = {"limit": "5"}
        while True:
            page = (await survey_client.get("/v1/touchpoints", params=params, headers=headers)).json()
            seen += [item["id"] for item in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert seen == created
        bad = await survey_client.get("/v1/touchpoints", params={"cursor": "garbage!"}, headers=headers)
        assert problem(bad, 422)["errors"][0]["field"] == "cursor"


class TestGetTouchpoint:
    async def test_unauthenticated(self, survey_client: Client) -> None:
        problem(await survey_client.get("/v1/touchpoints/tp_x"), 401)

    async def test_missing_scope(self, survey_client: Client, auth: TokenFactory) -> None:
        problem(await survey_client.get("/v1/touchpoints/tp_x", headers=auth(scopes="responses:read")), 403)

    async def test_other_tenant(self, survey_client: Client, auth: TokenFactory) -> None:
        created = await make_touchpoint(survey_client, auth(org="acme", scopes=WRITE))
        response = await survey_client.get(f"/v1/touchpoints/{created['id']}", headers=auth(org="globex", scopes=READ))
        problem(response, 404)

    async def test_not_found(self, survey_client: Client, auth: TokenFactory) -> None:
        response = await survey_client.get("/v1/touchpoints/tp_missing", headers=auth(scopes=READ))
        assert "tp_missing" in problem(response, 404)["detail"]

    async def test_valid(self, survey_client: Client, auth: TokenFactory) -> None:
        created = await make_touchpoint(survey_client, auth(scopes=WRITE), "Store visit", "in-store", "visit")
        response = await survey_client.get(f"/v1/touchpoints/{created['id']}", headers=auth(scopes=READ))
        assert response.status_code == 200
        assert response.json() == created
        assert set(created) == {"id", "name", "journey", "stage", "stage_position", "status", "created_at"}
