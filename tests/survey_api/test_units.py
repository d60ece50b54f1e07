"""`/v1/units`: the unit hierarchy, with the five cases every endpoint has."""

from __future__ import annotations

import httpx

from tests.conftest import TokenFactory

WRITE = "surveys:read surveys:write"


async def make_unit(client: httpx.AsyncClient, headers: dict[str, str], path: str, name: str | None = None) -> dict:
    response = await client.post("/v1/units", json={"path": path, "name": name or path}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


class TestCreateUnit:
    async def test_unauthenticated(self, survey_client: httpx.AsyncClient) -> None:
        response = await survey_client.post("/v1/units", json={"path": "emea", "name": "EMEA"})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_missing_scope(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.post(
            "/v1/units", json={"path": "emea", "name": "EMEA"}, headers=auth(scopes="surveys:read")
        )
        assert response.status_code == 403
        assert "surveys:write" in response.json()["detail"]

    async def test_valid(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_unit(survey_client, headers, "emea", "EMEA")
        body = await make_unit(survey_client, headers, "emea/de", "Germany")
        assert body["path"] == "emea/de"
        assert body["parent_path"] == "emea"
        assert body["depth"] == 2
        assert body["id"].startswith("unit_")
        fetched = await survey_client.get(f"/v1/units/{body['id']}", headers=headers)
        assert fetched.json() == body

    async def test_parent_must_exist(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.post(
            "/v1/units", json={"path": "emea/de", "name": "Germany"}, headers=auth(scopes=WRITE)
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "path"

    async def test_duplicate_path_is_conflict(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        await make_unit(survey_client, headers, "emea")
        again = await survey_client.post("/v1/units", json={"path": "emea", "name": "x"}, headers=headers)
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"

    async def test_same_path_in_two_orgs(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        await make_unit(survey_client, auth(org="acme", scopes=WRITE), "emea")
        await make_unit(survey_client, auth(org="globex", scopes=WRITE), "emea")

    async def test_outside_token_units_is_forbidden(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        await make_unit(survey_client, auth(scopes=WRITE), "emea")
        await make_unit(survey_client, auth(scopes=WRITE), "amer")
        restricted = auth(scopes=WRITE, units=["emea"])
        await make_unit(survey_client, restricted, "emea/de")
        response = await survey_client.post("/v1/units", json={"path": "amer/us", "name": "US"}, headers=restricted)
        assert response.status_code == 403

    async def test_each_invalid_field_is_listed(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.post(
            "/v1/units", json={"path": "EMEA//x", "name": "", "color": "red"}, headers=auth(scopes=WRITE)
        )
        assert response.status_code == 422
        problem = response.json()
        assert problem["status"] == 422
        assert {e["field"] for e in problem["errors"]} == {"path", "name", "color"}


class TestGetUnit:
    async def test_unauthenticated(self, survey_client: httpx.AsyncClient) -> None:
        assert (await survey_client.get("/v1/units/unit_x")).status_code == 401

    async def test_missing_scope(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.get("/v1/units/unit_x", headers=auth(scopes="contacts:read"))
        assert response.status_code == 403

    async def test_other_tenant(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        unit = await make_unit(survey_client, auth(org="acme", scopes=WRITE), "emea")
        response = await survey_client.get(f"/v1/units/{unit['id']}", headers=auth(org="globex", scopes=WRITE))
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"

    async def test_not_found(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        response = await survey_client.get("/v1/units/unit_missing", headers=auth(scopes=WRITE))
        assert response.status_code == 404

    async def test_outside_token_units_is_not_found(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        unit = await make_unit(survey_client, auth(scopes=WRITE), "amer")
        response = await survey_client.get(f"/v1/units/{unit['id']}", headers=auth(scopes=WRITE, units=["emea"]))
        assert response.status_code == 404


class TestListUnits:
    async def test_unauthenticated(self, survey_client: httpx.AsyncClient) -> None:
        assert (await survey_client.get("/v1/units")).status_code == 401

    async def test_missing_scope(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        assert (await survey_client.get("/v1/units", headers=auth(scopes="metrics:read"))).status_code == 403

    async def test_other_tenant_sees_nothing(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        await make_unit(survey_client, auth(org="acme", scopes=WRITE), "emea")
        response = await survey_client.get("/v1/units", headers=auth(org="globex", scopes=WRITE))
        assert response.json() == {"items": [], "next_cursor": None}

    async def test_subtree_and_children(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        for path in ["emea", "emea/de", "emea/de/berlin-01", "emea/fr", "em", "amer"]:
            await make_unit(survey_client, headers, path)
        under = await survey_client.get("/v1/units", params={"under": "emea"}, headers=headers)
        assert [u["path"] for u in under.json()["items"]] == ["emea", "emea/de", "emea/de/berlin-01", "emea/fr"]
        children = await survey_client.get("/v1/units", params={"parent": "emea"}, headers=headers)
        assert [u["path"] for u in children.json()["items"]] == ["emea/de", "emea/fr"]
        restricted = await survey_client.get("/v1/units", headers=auth(scopes=WRITE, units=["emea/de"]))
        assert [u["path"] for u in restricted.json()["items"]] == ["emea/de", "emea/de/berlin-01"]

    async def test_underscore_is_not_a_wildcard(self, survey_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        for path in ["a_b", "a_b/x", "axb", "axb/y"]:
            await make_unit(survey_client, headers, path)
        under = await survey_client.get("/v1/units", params={"under": "a_b"}, headers=headers)
        assert [u["path"] for u in under.json()["items"]] == ["a_b", "a_b/x"]
