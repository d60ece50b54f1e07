"""`/v1/surveys`: create, list, read and edit surveys as a front end does, with the five cases of every endpoint."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import httpx
import pytest

from shared.auth import SCOPES
from tests.conftest import TokenFactory
from tests.survey_api.test_touchpoints import make_touchpoint, problem

WRITE = "surveys:read surveys:write"
READ = "surveys:read"
Client = httpx.AsyncClient

NPS_PLUS: dict[str, Any] = {
    "name": "After delivery", "kind": "transactional", "audience": "customers",
    "languages": ["en", "de"], "default_language": "en",
    "questions": [
        {"key": "nps", "kind": "nps", "required": True, "prompt": {"en": "How likely…?", "de": "Wie wahrscheinlich…?"}},
        {"key": "why", "kind": "text", "show_if": {"question": "nps", "op": "<=", "value": 6},
         "prompt": {"en": "What went wrong?", "de": "Was lief schief?"}},
        {"key": "reasons", "kind": "reasons", "allow_other": True,
         "prompt": {"en": "Which of these?", "de": "Welche davon?"},
         "options": [{"code": "delivery", "label": {"en": "Delivery", "de": "Lieferung"}},
                     {"code": "price", "label": {"en": "Price", "de": "Preis"}}]},
        {"key": "csat_staff", "kind": "csat", "scale_min": 1, "scale_max": 5,
         "prompt": {"en": "How happy with our staff?", "de": "Wie zufrieden mit unserem Team?"}},
    ],
}  # fmt: skip
SURVEY_FIELDS = {
    "id", "name", "title", "kind", "audience", "purpose", "touchpoint_id", "languages", "default_language", "questions",
    "contact_frequency_days", "status", "version", "published_version", "has_unpublished_changes",
    "created_at", "updated_at", "published_at", "closed_at",
}  # fmt: skip


def survey_body(**overrides: Any) -> dict[str, Any]:
    """The NPS+ example a front end sends, with `overrides` applied."""
    return {**copy.deepcopy(NPS_PLUS), **overrides}


def nps_only(**overrides: Any) -> dict[str, Any]:
    """A minimal one-language survey with one NPS question."""
    question = {"key": "nps", "kind": "nps", "prompt": {"en": "How likely?"}}
    return {"name": "Pulse", "kind": "relational", "languages": ["en"], "questions": [question], **overrides}


async def make_survey(client: Client, headers: dict[str, str], body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post("/v1/surveys", json=body or survey_body(), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def act(client: Client, headers: dict[str, str], survey_id: str, action: str) -> dict[str, Any]:
    """POST publish or close, expecting 200."""
    response = await client.post(f"/v1/surveys/{survey_id}/{action}", headers=headers)
    assert response.status_code == 200, response.text
    survey: dict[str, Any] = response.json()
    return survey


async def patch(client: Client, headers: dict[str, str], survey_id: str, **changes: Any) -> dict[str, Any]:
    response = await client.patch(f"/v1/surveys/{survey_id}", json=changes, headers=headers)
    assert response.status_code == 200, response.text
    survey: dict[str, Any] = response.json()
    return survey


async def list_ids(client: Client, headers: dict[str, str], **params: str) -> list[str]:
    response = await client.get("/v1/surveys", params={**params, "limit": "500"}, headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def instant(value: str) -> dt.datetime:
    """A timestamp of the API, parsed."""
    return dt.datetime.fromisoformat(value)


def fields(response: httpx.Response) -> set[str]:
    """The fields a 422 names."""
    return {e["field"] for e in problem(response, 422)["errors"]}


class TestCreateSurvey:
    async def test_unauthenticated(self, survey_client: Client) -> None:
        problem(await survey_client.post("/v1/surveys", json=survey_body()), 401)

    async def test_missing_scope(self, survey_client: Client, auth: TokenFactory) -> None:
        response = await survey_client.post("/v1/surveys", json=survey_body(), headers=auth(scopes=READ))
        assert "surveys:write" in problem(response, 403)["detail"]

    async def test_other_tenant(self, survey_client: Client, auth: TokenFactory) -> None:
        theirs = await make_touchpoint(survey_client, auth(org="globex", scopes=WRITE))
        body = survey_body(touchpoint_id=theirs["id"])
        response = await survey_client.post("/v1/surveys", json=body, headers=auth(scopes=WRITE))
        assert fields(response) == {"touchpoint_id"}

    async def test_not_found(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        response = await survey_client.post("/v1/surveys", json=survey_body(touchpoint_id="tp_nope"), headers=headers)
        assert "tp_nope" in problem(response, 422)["errors"][0]["message"]
        assert await list_ids(survey_client, headers) == []

    async def test_valid(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        touchpoint = await make_touchpoint(survey_client, headers)
        survey = await make_survey(survey_client, headers, survey_body(touchpoint_id=touchpoint["id"]))
        assert set(survey) == SURVEY_FIELDS
        assert survey["id"].startswith("survey_")
        assert survey["touchpoint_id"] == touchpoint["id"]
        assert (survey["status"], survey["version"], survey["published_version"]) == ("draft", 1, None)
        assert survey["has_unpublished_changes"] is True
        assert (survey["published_at"], survey["closed_at"], survey["contact_frequency_days"]) == (None, None, None)
        assert survey["created_at"] == survey["updated_at"]
        nps, why, reasons, csat = survey["questions"]
        assert (nps["scale_min"], nps["scale_max"], nps["required"]) == (0, 10, True)
        assert (csat["scale_min"], csat["scale_max"]) == (1, 5)
        assert why["show_if"] == {"question": "nps", "op": "<=", "value": 6}
        assert [o["code"] for o in reasons["options"]] == ["delivery", "price"]
        assert reasons["allow_other"] is True
        fetched = await survey_client.get(f"/v1/surveys/{survey['id']}", headers=auth(scopes=READ))
        assert fetched.json() == survey

    async def test_defaults(self, survey_client: Client, auth: TokenFactory) -> None:
        body = survey_body()
        del body["audience"], body["default_language"]
        body["languages"] = ["de", "en"]
        survey = await make_survey(survey_client, auth(scopes=WRITE), body)
        assert (survey["audience"], survey["default_language"]) == ("customers", "de")

    async def test_enps_with_its_own_contact_frequency(self, survey_client: Client, auth: TokenFactory) -> None:
        body = nps_only(audience="employees", contact_frequency_days=90, languages=["en", "pt-BR"])
        body["questions"][0]["prompt"]["pt-BR"] = "Quão provável?"
        survey = await make_survey(survey_client, auth(scopes=WRITE), body)
        assert (survey["audience"], survey["contact_frequency_days"]) == ("employees", 90)
        assert survey["languages"] == ["en", "pt-BR"]

    async def test_default_language_must_be_one_of_languages(self, survey_client: Client, auth: TokenFactory) -> None:
        response = await survey_client.post(
            "/v1/surveys", json=survey_body(default_language="fr"), headers=auth(scopes=WRITE)
        )
        assert fields(response) == {"default_language"}

    @pytest.mark.parametrize(
        ("languages", "field"),
        [
            ([], "languages"),
            (["en", "en"], "languages"),
            (["EN"], "languages.0"),
            ([a + b + c for a in "abc" for b in "abcdef" for c in "abc"][:51], "languages"),
        ],
    )
    async def test_languages(self, survey_client: Client, auth: TokenFactory, languages: list[str], field: str) -> None:
        body = nps_only(languages=languages)
        response = await survey_client.post("/v1/surveys", json=body, headers=auth(scopes=WRITE))
        assert fields(response) == {field}

    async def test_fifty_languages(self, survey_client: Client, auth: TokenFactory) -> None:
        languages = [a + b for a in "abcde" for b in "abcdefghij"]
        survey = await make_survey(survey_client, auth(scopes=WRITE), nps_only(languages=languages))
        assert len(survey["languages"]) == 50

    async def test_each_invalid_field_is_listed(self, survey_client: Client, auth: TokenFactory) -> None:
        body = {
            "name": "",
            "kind": "weekly",
            "audience": "partners",
            "languages": ["en"],
            "questions": [],
            "contact_frequency_days": 3651,
            "colour": "red",
        }
        response = await survey_client.post("/v1/surveys", json=body, headers=auth(scopes=WRITE))
        assert fields(response) == {"name", "kind", "audience", "questions", "contact_frequency_days", "colour"}

    async def test_structural_problems_are_listed(self, survey_client: Client, auth: TokenFactory) -> None:
        body = survey_body(default_language="fr")
        questions = body["questions"]
        questions.append({**questions[1], "key": "why"})  # questions.4: a second `why`
        questions.append({"key": "reasons_other", "kind": "text", "prompt": {"en": "x", "de": "y"}})  # questions.5
        response = await survey_client.post("/v1/surveys", json=body, headers=auth(scopes=WRITE))
        errors = {e["field"]: e["code"] for e in problem(response, 422)["errors"]}
        assert errors == {
            "default_language": "not_a_survey_language",
            "questions.4.key": "duplicate_key",
            "questions.5.key": "reserved_key",
        }

    async def test_idempotent_retry(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = {**auth(scopes=WRITE), "Idempotency-Key": "survey-1"}
        first = await survey_client.post("/v1/surveys", json=survey_body(), headers=headers)
        again = await survey_client.post("/v1/surveys", json=survey_body(), headers=headers)
        assert (first.status_code, again.status_code, again.headers["idempotent-replayed"]) == (201, 201, "true")
        assert again.json() == first.json()
        assert await list_ids(survey_client, headers) == [first.json()["id"]]


class TestListSurveys:
    async def test_unauthenticated(self, survey_client: Client) -> None:
        problem(await survey_client.get("/v1/surveys"), 401)

    async def test_missing_scope(self, survey_client: Client, auth: TokenFactory) -> None:
        response = await survey_client.get("/v1/surveys", headers=auth(scopes="surveys:write"))
        assert "surveys:read" in problem(response, 403)["detail"]

    async def test_other_tenant(self, survey_client: Client, auth: TokenFactory) -> None:
        await make_survey(survey_client, auth(org="acme", scopes=WRITE))
        response = await survey_client.get("/v1/surveys", headers=auth(org="globex", scopes=READ))
        assert response.json() == {"items": [], "next_cursor": None}

    async def test_not_found(self, survey_client: Client, auth: TokenFactory) -> None:
        await make_survey(survey_client, auth(scopes=WRITE))
        response = await survey_client.get("/v1/surveys", params={"status": "closed"}, headers=auth(scopes=READ))
        assert (response.status_code, response.json()) == (200, {"items": [], "next_cursor": None})

    async def test_valid(self, survey_client: Client, auth: TokenFactory) -> None:
        created = await make_survey(survey_client, auth(scopes=WRITE))
        response = await survey_client.get("/v1/surveys", headers=auth(scopes=READ))
        assert (response.status_code, response.json()) == (200, {"items": [created], "next_cursor": None})

    async def test_filters(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        touchpoint = (await make_touchpoint(survey_client, headers))["id"]
        delivery = (await make_survey(survey_client, headers, survey_body(touchpoint_id=touchpoint)))["id"]
        enps = (await make_survey(survey_client, headers, nps_only(audience="employees")))["id"]
        moment = (await make_survey(survey_client, headers, nps_only(kind="in_the_moment")))["id"]
        await act(survey_client, headers, delivery, "publish")
        await act(survey_client, headers, enps, "publish")
        await act(survey_client, headers, enps, "close")

        async def ids(**params: str) -> list[str]:
            return await list_ids(survey_client, headers, **params)

        assert await ids(status="draft") == [moment]
        assert await ids(status="active") == [delivery]
        assert await ids(status="closed") == [enps]
        assert await ids(kind="relational") == [enps]
        assert await ids(kind="in_the_moment", status="draft") == [moment]
        assert await ids(touchpoint_id=touchpoint) == [delivery]
        assert await ids(audience="employees") == [enps]
        assert await ids(audience="customers") == [delivery, moment]

    async def test_invalid_filters(self, survey_client: Client, auth: TokenFactory) -> None:
        params = {"status": "paused", "kind": "weekly", "audience": "partners", "limit": "0"}
        response = await survey_client.get("/v1/surveys", params=params, headers=auth(scopes=READ))
        assert fields(response) == {"status", "kind", "audience", "limit"}

    async def test_pagination(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        created = [(await make_survey(survey_client, headers, nps_only(name=f"s{i}")))["id"] for i in range(11)]
        seen: list[str] = []
        sizes: list[int] = []
        params = {"limit": "4"}
        while True:
            page = (await survey_client.get("/v1/surveys", params=params, headers=headers)).json()
            seen += [item["id"] for item in page["items"]]
            sizes.append(len(page["items"]))
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert (seen, sizes) == (created, [4, 4, 3])


# Every endpoint below /v1/surveys/{survey_id}: method, path, and the scope it needs.
SURVEY_ROUTES = [
    ("GET", "", "surveys:read"),
    ("PATCH", "", "surveys:write"),
    ("POST", "/publish", "surveys:write"),
    ("POST", "/close", "surveys:write"),
    ("GET", "/versions", "surveys:read"),
    ("GET", "/versions/1", "surveys:read"),
]
ROUTE_IDS = [f"{method} {path or '/'}" for method, path, _ in SURVEY_ROUTES]


async def call(client: Client, method: str, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"name": "Renamed"} if method == "PATCH" else None
    return await client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "scope"), SURVEY_ROUTES, ids=ROUTE_IDS)
class TestSurveyRoutes:
    """The cases every endpoint of one survey shares: 401, 403, another tenant's and a missing survey 404."""

    async def test_unauthenticated(self, survey_client: Client, method: str, path: str, scope: str) -> None:
        response = await call(survey_client, method, f"/v1/surveys/survey_x{path}")
        assert problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")

    async def test_missing_scope(
        self, survey_client: Client, auth: TokenFactory, method: str, path: str, scope: str
    ) -> None:
        headers = auth(scopes=[s for s in SCOPES if s != scope])
        response = await call(survey_client, method, f"/v1/surveys/survey_x{path}", headers)
        assert scope in problem(response, 403)["detail"]

    async def test_other_tenant(
        self, survey_client: Client, auth: TokenFactory, method: str, path: str, scope: str
    ) -> None:
        acme = auth(org="acme", scopes=WRITE)
        survey = await make_survey(survey_client, acme)
        survey = await act(survey_client, acme, survey["id"], "publish")
        response = await call(survey_client, method, f"/v1/surveys/{survey['id']}{path}", auth(org="globex"))
        assert survey["id"] in problem(response, 404)["detail"]
        unchanged = await survey_client.get(f"/v1/surveys/{survey['id']}", headers=acme)
        assert unchanged.json() == survey

    async def test_not_found(
        self, survey_client: Client, auth: TokenFactory, method: str, path: str, scope: str
    ) -> None:
        response = await call(survey_client, method, f"/v1/surveys/survey_missing{path}", auth())
        assert "survey_missing" in problem(response, 404)["detail"]


class TestGetSurvey:
    async def test_valid(self, survey_client: Client, auth: TokenFactory) -> None:
        survey = await make_survey(survey_client, auth(scopes=WRITE))
        response = await survey_client.get(f"/v1/surveys/{survey['id']}", headers=auth(scopes=READ))
        assert (response.status_code, response.json()) == (200, survey)


class TestUpdateSurvey:
    async def test_valid(self, survey_client: Client, auth: TokenFactory) -> None:
        # Editing a draft edits version 1 in place; fields left out stay.
        headers = auth(scopes=WRITE)
        touchpoint = (await make_touchpoint(survey_client, headers))["id"]
        survey = await make_survey(survey_client, headers)
        changed = await patch(
            survey_client,
            headers,
            survey["id"],
            name="After delivery (v2)",
            kind="in_the_moment",
            audience="employees",
            touchpoint_id=touchpoint,
            default_language="de",
            contact_frequency_days=14,
        )
        expected = {
            "name": "After delivery (v2)",
            "kind": "in_the_moment",
            "audience": "employees",
            "touchpoint_id": touchpoint,
            "default_language": "de",
            "contact_frequency_days": 14,
        }
        assert {k: changed[k] for k in expected} == expected
        assert (changed["status"], changed["version"], changed["questions"]) == ("draft", 1, survey["questions"])
        assert instant(changed["updated_at"]) > instant(survey["updated_at"])
        cleared = await patch(survey_client, headers, survey["id"], touchpoint_id=None, contact_frequency_days=None)
        assert (cleared["touchpoint_id"], cleared["contact_frequency_days"]) == (None, None)

    async def test_replace_questions(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        survey = await make_survey(survey_client, headers)
        ces = {"key": "effort", "kind": "ces", "prompt": {"en": "Easy?", "de": "Einfach?"}}
        changed = await patch(survey_client, headers, survey["id"], questions=[ces])
        assert [(q["key"], q["scale_min"], q["scale_max"]) for q in changed["questions"]] == [("effort", 1, 7)]

    async def test_null_is_refused_for_required_fields(self, survey_client: Client, auth: TokenFactory) -> None:
        survey = await make_survey(survey_client, auth(scopes=WRITE))
        body = {"name": None, "kind": None, "languages": None, "questions": None, "default_language": None}
        response = await survey_client.patch(f"/v1/surveys/{survey['id']}", json=body, headers=auth(scopes=WRITE))
        assert fields(response) == set(body)

    async def test_revalidates_structure(self, survey_client: Client, auth: TokenFactory) -> None:
        headers = auth(scopes=WRITE)
        survey = await make_survey(survey_client, headers)
        theirs = (await make_touchpoint(survey_client, auth(org="globex", scopes=WRITE)))["id"]

        async def refused(**changes: Any) -> set[str]:
            return fields(await survey_client.patch(f"/v1/surveys/{survey['id']}", json=changes, headers=headers))

        assert await refused(languages=["de"]) == {"default_language"}  # drops the default, names no new one
        twice = [{"key": "nps", "kind": "text", "prompt": {"en": "x", "de": "y"}}]
        assert await refused(questions=survey["questions"] + twice) == {"questions.4.key"}
        assert await refused(touchpoint_id=theirs) == {"touchpoint_id"}
        two_points = {"key": "q", "kind": "rating", "scale_min": 2, "scale_max": 3, "prompt": {"en": "x"}}
        assert await refused(questions=[two_points], kind="weekly") == {"questions.0", "kind"}
        assert (await survey_client.get(f"/v1/surveys/{survey['id']}", headers=headers)).json() == survey
        both = await patch(survey_client, headers, survey["id"], languages=["de"], default_language="de")
        assert (both["languages"], both["default_language"]) == (["de"], "de")

    async def test_unknown_field(self, survey_client: Client, auth: TokenFactory) -> None:
        survey = await make_survey(survey_client, auth(scopes=WRITE))
        url = f"/v1/surveys/{survey['id']}"
        response = await survey_client.patch(url, json={"status": "active"}, headers=auth(scopes=WRITE))
        assert fields(response) == {"status"}
