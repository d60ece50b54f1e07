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


async def patch(client: Client, headers: dict[str, str], touchpoint_id: str, **changes: Any) -> httpx.Response:
    return await client.patch(f"/v1/touchpoints/{touchpoint_id}", json=changes, headers=headers)


NPS_ONLY = {
    "name": "Pulse",
    "kind": "relational",
    "languages": ["en"],
    "questions": [{"key": "nps", "kind": "nps", "prompt": {"en": "Recommend?"}}],
}


class TestUpdateTouchpoint:
    async def test_unauthenticated(self, survey_client: Client, auth: TokenFactory) -> None:
        created = await make_touchpoint(survey_client, auth(scopes=WRITE))
        assert problem(await survey_client.patch(f"/v1/touchpoints/{created['id']}", json={"name": "x"}), 401)

    async def test_missing_scope(self, survey_client: Client, auth: TokenFactory) -> None:
        created = await make_touchpoint(survey_client, auth(scopes=WRITE))
        assert (
            "surveys:write"
            in problem(await patch(survey_client, auth(scopes=READ), created["id"], name="x"), 403)["detail"]
        )

    async def test_other_tenant(self, survey_client: Client, auth: TokenFactory) -> None:
        theirs = await make_touchpoint(survey_client, auth(org="globex", scopes=WRITE))
        assert problem(await patch(survey_client, auth(scopes=WRITE), theirs["id"], status="retired"), 404)
        unchanged = await survey_client.get(f"/v1/touchpoints/{theirs['id']}", headers=auth(org="globex", scopes=READ))
        assert unchanged.json()["status"] == "active"

    async def test_not_found(self, survey_client: Client, auth: TokenFactory) -> None:
        assert problem(await patch(survey_client, auth(scopes=WRITE), "tp_nope", name="x"), 404)

    async def test_valid_rename_and_move(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        created = await make_touchpoint(survey_client, headers)
        renamed = await patch(survey_client, headers, created["id"], name="Parcel handed over", stage="handover")
        assert renamed.status_code == 200, renamed.text
        body = renamed.json()
        assert (body["id"], body["name"], body["journey"], body["stage"]) == (
            created["id"],
            "Parcel handed over",
            "purchase",
            "handover",
        )
        assert (await survey_client.get(f"/v1/touchpoints/{created['id']}", headers=headers)).json() == body

    async def test_taken_name_is_409_and_bad_fields_422(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_touchpoint(survey_client, headers, "Checkout")
        other = await make_touchpoint(survey_client, headers, "Delivery")
        assert problem(await patch(survey_client, headers, other["id"], name="Checkout"), 409)
        for bad in ({"name": None}, {"status": "archived"}, {"stage_position": -1}, {"colour": "red"}):
            assert problem(await survey_client.patch(f"/v1/touchpoints/{other['id']}", json=bad, headers=headers), 422)

    async def test_stages_are_ordered_as_the_org_says(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        pay = await make_touchpoint(survey_client, headers, "Pay", "purchase", "checkout")
        ship = await make_touchpoint(survey_client, headers, "Ship", "purchase", "delivery")
        assert (await patch(survey_client, headers, pay["id"], stage_position=1)).json()["stage_position"] == 1
        await patch(survey_client, headers, ship["id"], stage_position=2)
        # A new touchpoint of an existing stage takes the stage's position; setting it moves the whole stage.
        card = await make_touchpoint(survey_client, headers, "Card", "purchase", "checkout")
        assert card["stage_position"] == 1
        await patch(survey_client, headers, card["id"], stage_position=3)
        listed = await survey_client.get("/v1/touchpoints", params={"journey": "purchase"}, headers=headers)
        positions = {item["name"]: item["stage_position"] for item in listed.json()["items"]}
        assert positions == {"Pay": 3, "Ship": 2, "Card": 3}
        # Moving a touchpoint into a stage gives it that stage's position.
        moved = await patch(survey_client, headers, ship["id"], stage="checkout")
        assert moved.json()["stage_position"] == 3

    async def test_retired_touchpoint_keeps_its_surveys_but_takes_no_new_one(
        self, survey_client: Client, auth: TokenFactory
    ) -> None:
        headers = auth(scopes="surveys:read surveys:write responses:read responses:write")
        touchpoint = await make_touchpoint(survey_client, headers)
        created = await survey_client.post(
            "/v1/surveys", json={**NPS_ONLY, "touchpoint_id": touchpoint["id"]}, headers=headers
        )
        survey = created.json()
        await survey_client.post(f"/v1/surveys/{survey['id']}/publish", headers=headers)
        retired = await patch(survey_client, headers, touchpoint["id"], status="retired")
        assert retired.json()["status"] == "retired"
        refused = await survey_client.post(
            "/v1/surveys", json={**NPS_ONLY, "touchpoint_id": touchpoint["id"]}, headers=headers
        )
        assert [(e["field"], e["code"]) for e in problem(refused, 422)["errors"]] == [
            ("touchpoint_id", "retired_touchpoint")
        ]
        other = (await survey_client.post("/v1/surveys", json=NPS_ONLY, headers=headers)).json()
        moved = await survey_client.patch(
            f"/v1/surveys/{other['id']}", json={"touchpoint_id": touchpoint["id"]}, headers=headers
        )
        assert problem(moved, 422)
        # The survey it had keeps it, can still be edited and still takes responses with it.
        kept = await survey_client.patch(f"/v1/surveys/{survey['id']}", json={"name": "Pulse 2"}, headers=headers)
        assert kept.status_code == 200 and kept.json()["touchpoint_id"] == touchpoint["id"]
        body = {"survey_id": survey["id"], "channel": "api", "answers": {"nps": 8}}
        answered = await survey_client.post("/v1/responses", json=body, headers=headers)
        assert answered.status_code == 201 and answered.json()["touchpoint_id"] == touchpoint["id"]
        listed = await survey_client.get("/v1/touchpoints", params={"status": "retired"}, headers=headers)
        assert [item["id"] for item in listed.json()["items"]] == [touchpoint["id"]]
