"""`/v1/people`: who owns cases; once an org keeps people, teams, escalations and owners must name them."""

from __future__ import annotations

import httpx

from tests.conftest import TokenFactory
from tests.loop_api.helpers import RW, FakeClock, ok, open_case, problem, step

ANA = {"handle": "ana", "name": "Ana Weber", "email": "ana@example.com", "units": ["emea/de"], "notify": "digest"}


class TestPeople:
    async def test_unauthenticated(self, loop_client: httpx.AsyncClient) -> None:
        problem(await loop_client.get("/v1/people"), 401)
        problem(await loop_client.post("/v1/people", json=ANA), 401)

    async def test_missing_scope(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        problem(await loop_client.post("/v1/people", json=ANA, headers=auth(scopes="cases:read")), 403)
        problem(await loop_client.get("/v1/people", headers=auth(scopes="metrics:read")), 403)

    async def test_valid(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=RW)
        created = await ok(await loop_client.post("/v1/people", json=ANA, headers=headers), 201)
        assert {k: created[k] for k in ANA} == ANA
        bob = {"handle": "auth0|5f1", "name": "Bob", "email": "bob@example.com"}
        defaults = await ok(await loop_client.post("/v1/people", json=bob, headers=headers), 201)
        assert (defaults["units"], defaults["notify"]) == ([], "immediate")
        page = await ok(await loop_client.get("/v1/people", headers=auth(scopes="cases:read")))
        assert [p["handle"] for p in page["items"]] == ["ana", "auth0|5f1"]
        assert (await ok(await loop_client.get("/v1/people/auth0|5f1", headers=headers)))["name"] == "Bob"
        changed = await ok(
            await loop_client.patch("/v1/people/ana", json={"notify": "off", "units": []}, headers=headers)
        )
        assert (changed["notify"], changed["units"], changed["email"]) == ("off", [], "ana@example.com")

    async def test_duplicate_and_invalid(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        headers = auth(scopes=RW)
        await ok(await loop_client.post("/v1/people", json=ANA, headers=headers), 201)
        problem(await loop_client.post("/v1/people", json=ANA, headers=headers), 409)
        for bad in (
            {**ANA, "handle": "x/y"},
            {**ANA, "handle": "two words"},
            {**ANA, "email": "not-an-address"},
            {**ANA, "notify": "sometimes"},
            {**ANA, "units": ["emea", "emea"]},
            {**ANA, "units": ["/"]},
            {**ANA, "role": "admin"},
        ):
            problem(await loop_client.post("/v1/people", json=bad, headers=headers), 422)
        problem(await loop_client.patch("/v1/people/ana", json={"email": None}, headers=headers), 422)

    async def test_not_found_and_other_tenant(self, loop_client: httpx.AsyncClient, auth: TokenFactory) -> None:
        await ok(await loop_client.post("/v1/people", json=ANA, headers=auth(scopes=RW)), 201)
        other = auth(org="globex", scopes=RW)
        problem(await loop_client.get("/v1/people/ana", headers=other), 404)
        problem(await loop_client.patch("/v1/people/ana", json={"name": "X"}, headers=other), 404)
        assert (await ok(await loop_client.get("/v1/people", headers=other)))["items"] == []

    async def test_a_unit_restricted_caller_gives_only_its_own_units(
        self, loop_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        berlin = auth(scopes=RW, units=["emea/de/berlin"])
        problem(await loop_client.post("/v1/people", json=ANA, headers=berlin), 403)  # emea/de is wider
        inside = {**ANA, "units": ["emea/de/berlin/mitte"]}
        await ok(await loop_client.post("/v1/people", json=inside, headers=berlin), 201)
        problem(await loop_client.patch("/v1/people/ana", json={"units": ["amer"]}, headers=berlin), 403)


class TestHandles:
    async def test_any_owner_goes_until_the_org_keeps_people(
        self, loop_client: httpx.AsyncClient, auth: TokenFactory
    ) -> None:
        headers = auth(scopes=RW)
        await ok(await loop_client.post("/v1/teams", json={"name": "A", "members": ["zoe"]}, headers=headers), 201)
        await ok(await loop_client.put("/v1/escalations", json={"items": [{"owner": "zoe"}]}, headers=headers))
        await ok(await loop_client.post("/v1/people", json=ANA, headers=headers), 201)

        bad_team = await loop_client.post("/v1/teams", json={"name": "B", "members": ["ana", "zoe"]}, headers=headers)
        assert problem(bad_team, 422)["errors"][0]["field"] == "members"
        assert "zoe" in bad_team.json()["detail"]
        team = await ok(
            await loop_client.post("/v1/teams", json={"name": "B", "members": ["ana"]}, headers=headers), 201
        )
        problem(await loop_client.patch(f"/v1/teams/{team['id']}", json={"members": ["zoe"]}, headers=headers), 422)
        escalations = {"items": [{"unit": "emea", "owner": "ana"}, {"owner": "zoe"}]}
        problem(await loop_client.put("/v1/escalations", json=escalations, headers=headers), 422)
        await ok(await loop_client.put("/v1/escalations", json={"items": [{"owner": "ana"}]}, headers=headers))

    async def test_a_case_owner_must_be_a_person_once_there_are_people(
        self, loop_client: httpx.AsyncClient, auth: TokenFactory, service: dict[str, str], clock: FakeClock
    ) -> None:
        headers = auth(scopes=RW)
        case = await open_case(loop_client, service, headers, submitted_at=clock.now)
        assert (await step(loop_client, headers, case["id"], owner="zoe"))["owner"] == "zoe"
        await ok(await loop_client.post("/v1/people", json=ANA, headers=headers), 201)
        current = await loop_client.get(f"/v1/cases/{case['id']}", headers=headers)
        refused = await loop_client.patch(
            f"/v1/cases/{case['id']}", json={"owner": "max"}, headers={**headers, "If-Match": current.headers["etag"]}
        )
        assert problem(refused, 422)["errors"][0]["field"] == "owner"
        assert (await step(loop_client, headers, case["id"], owner="ana"))["owner"] == "ana"
