"""`/v1/public/invitations/{token}`: the hosted flow as JSON for apps, with the invitation token as credential."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.db import utcnow
from tests.conftest import TokenFactory
from tests.survey_api.helpers import ALL, ok, published_survey
from tests.survey_api.test_hosted import event_types, invitation_of, make_contact, make_invitation, responses_of

ANSWERS = {"nps": 3, "why": "Late", "reasons": ["delivery", "other"], "reasons_other": "Rude"}


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(**ALL)


@pytest.fixture
async def survey(survey_client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    return await published_survey(survey_client, headers)


def url(token: str) -> str:
    return f"/v1/public/invitations/{token}"


class TestRead:
    async def test_the_version_to_render_in_the_contacts_language(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers, locale="de")
        token = await make_invitation(survey_app, survey["id"], contact_id=contact["id"])
        body = await ok(await survey_client.get(url(token)), 200)  # no bearer token
        assert body["status"] == "opened" and body["language"] == "de" and body["languages"] == ["en", "de"]
        assert body["response_id"] is None and body["answers"] == {}
        assert body["survey"]["id"] == survey["id"] and body["survey"]["version"] == 1
        nps, why, reasons, csat = body["survey"]["questions"]
        assert nps == {
            "key": "nps",
            "kind": "nps",
            "prompt": "Wie wahrscheinlich …?",
            "required": True,
            "scale_min": 0,
            "scale_max": 10,
            "scale_labels": {"low": "Überhaupt nicht wahrscheinlich", "high": "Äußerst wahrscheinlich"},
            "point_labels": None,
            "options": None,
            "allow_other": False,
            "other_key": None,
            "other_label": None,
            "max_length": None,
            "show_if": None,
        }
        assert why["show_if"] == {"question": "nps", "op": "<=", "value": 6} and why["prompt"] == "Was lief schief?"
        assert reasons["options"] == [{"code": "delivery", "label": "Lieferung"}, {"code": "price", "label": "Preis"}]
        assert reasons["other_key"] == "reasons_other" and reasons["other_label"] == "Sonstiges"
        assert csat["scale_labels"] == {"low": "Sehr unzufrieden", "high": "Sehr zufrieden"}
        assert (await invitation_of(survey_app, token)).status == "opened"

    async def test_lang_picks_another_language_of_the_survey(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"], language="de")
        body = await ok(await survey_client.get(url(token), params={"lang": "en"}), 200)
        assert body["language"] == "en" and body["survey"]["questions"][0]["prompt"].startswith("How likely")
        fallback = await ok(await survey_client.get(url(token), params={"lang": "fr"}), 200)
        assert fallback["language"] == "de"


class TestAnswer:
    async def test_partial_then_finished(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers)
        token = await make_invitation(survey_app, survey["id"], contact_id=contact["id"], channel="in_app")
        first = await survey_client.post(f"{url(token)}/response", json={"answers": {"nps": 3}, "finished": False})
        assert first.status_code == 201, first.text
        response_id = first.json()["response_id"]
        assert first.json() == {"response_id": response_id, "finished": False}
        saved = await ok(await survey_client.get(url(token)), 200)
        assert saved["status"] == "started" and saved["answers"] == {"nps": 3} and saved["response_id"] == response_id
        rest = {k: v for k, v in ANSWERS.items() if k != "nps"}
        second = await survey_client.post(f"{url(token)}/response", json={"answers": rest})
        assert second.status_code == 200 and second.json() == {"response_id": response_id, "finished": True}
        listed = await ok(await survey_client.get("/v1/responses", headers=headers), 200)
        [stored] = listed["items"]
        assert stored["id"] == response_id and stored["answers"] == ANSWERS and stored["finished"]
        assert stored["source"] == "hosted" and stored["channel"] == "in_app" and stored["contact_id"] == contact["id"]
        invitation = await invitation_of(survey_app, token)
        assert invitation.status == "completed" and invitation.response_id == response_id
        types = await event_types(survey_app)
        assert [t for t in types if t.startswith("response.")] == ["response.updated", "response.completed"]

    async def test_null_removes_a_saved_answer(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        partial = {"answers": {"nps": 3, "csat_staff": 2}, "finished": False}
        await ok(await survey_client.post(f"{url(token)}/response", json=partial), 201)
        removal = {"answers": {"csat_staff": None}, "finished": False}
        await ok(await survey_client.post(f"{url(token)}/response", json=removal), 200)
        assert (await responses_of(survey_app))[0].answers == {"nps": 3}

    async def test_errors_list_each_field_with_the_partner_codes(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        bad = {"answers": {"nps": 11, "reasons": ["bogus"], "reasons_other": "x", "csat_staff": "4", "age": 3}}
        response = await survey_client.post(f"{url(token)}/response", json=bad)
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
        codes = {(e["field"], e["code"]) for e in response.json()["errors"]}
        assert codes == {
            ("answers.nps", "out_of_scale"),
            ("answers.reasons", "unknown_option"),
            ("answers.reasons_other", "no_other"),
            ("answers.csat_staff", "not_integer"),
            ("answers.age", "unknown_question"),
        }
        hidden = await survey_client.post(f"{url(token)}/response", json={"answers": {"nps": 9, "why": "x"}})
        assert {(e["field"], e["code"]) for e in hidden.json()["errors"]} == {("answers.why", "not_shown")}
        missing = await survey_client.post(f"{url(token)}/response", json={"answers": {"csat_staff": 4}})
        assert ("answers.nps", "required") in {(e["field"], e["code"]) for e in missing.json()["errors"]}
        assert await responses_of(survey_app) == []
        assert (await invitation_of(survey_app, token)).status == "sent"

    async def test_unknown_body_fields_are_refused(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        response = await survey_client.post(f"{url(token)}/response", json={"answers": {"nps": 3}, "survey_id": "x"})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "survey_id"


class TestGone:
    async def test_unknown_token_is_404(self, survey_client: httpx.AsyncClient) -> None:
        for response in (
            await survey_client.get(url("nope")),
            await survey_client.post(f"{url('nope')}/response", json={"answers": {"nps": 3}}),
        ):
            assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"

    async def test_used_is_410_and_stores_nothing_twice(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        await ok(await survey_client.post(f"{url(token)}/response", json={"answers": ANSWERS}), 201)
        again = await survey_client.post(f"{url(token)}/response", json={"answers": ANSWERS})
        assert again.status_code == 410 and again.json()["type"].endswith("/invitation-completed")
        read = await survey_client.get(url(token))
        assert read.status_code == 410 and read.json()["type"].endswith("/invitation-completed")
        assert len(await responses_of(survey_app)) == 1

    async def test_expired_is_410(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"], expires_at=utcnow() - dt.timedelta(seconds=1))
        response = await survey_client.get(url(token))
        assert response.status_code == 410 and response.json()["type"].endswith("/invitation-expired")
        posted = await survey_client.post(f"{url(token)}/response", json={"answers": ANSWERS})
        assert posted.status_code == 410

    async def test_a_closed_survey_is_410(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        token = await make_invitation(survey_app, survey["id"])
        await ok(await survey_client.post(f"/v1/surveys/{survey['id']}/close", headers=headers), 200)
        response = await survey_client.get(url(token))
        assert response.status_code == 410 and response.json()["type"].endswith("/survey-closed")


class TestRateLimit:
    async def test_429_problem_with_retry_after(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        survey_app.state.settings = survey_app.state.settings.model_copy(update={"public_rate_per_minute": 3})
        token = await make_invitation(survey_app, survey["id"])
        statuses = [(await survey_client.get(url(token))).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = await survey_client.post(f"{url(token)}/response", json={"answers": ANSWERS})
        assert limited.status_code == 429 and limited.headers["content-type"] == "application/problem+json"
        assert 1 <= int(limited.headers["retry-after"]) <= 60  # at most until the minute ends
        assert limited.json()["type"].endswith("/rate-limited")
        other = await make_invitation(survey_app, survey["id"])
        assert (await survey_client.get(url(other))).status_code == 200  # another token has its own bucket
        assert await responses_of(survey_app) == []

    async def test_the_page_and_the_api_share_a_tokens_budget(
        self, survey_client: httpx.AsyncClient, survey_app: FastAPI, survey: dict[str, Any]
    ) -> None:
        survey_app.state.settings = survey_app.state.settings.model_copy(update={"public_rate_per_minute": 2})
        token = await make_invitation(survey_app, survey["id"])
        assert (await survey_client.get(f"/r/{token}")).status_code == 200
        assert (await survey_client.get(f"/u/{token}")).status_code == 404  # no contact, but counted
        assert (await survey_client.get(url(token))).status_code == 429


class TestOpenAPI:
    def test_public_routes_are_documented_without_security_and_pages_are_not(self, survey_app: FastAPI) -> None:
        document = survey_app.openapi()
        paths = document["paths"]
        read = paths["/v1/public/invitations/{token}"]["get"]
        answer = paths["/v1/public/invitations/{token}/response"]["post"]
        for operation in (read, answer):
            assert operation["security"] == [] and "401" not in operation["responses"]
            assert {"404", "410", "429"} <= set(operation["responses"])
            assert "per process" in operation["responses"]["429"]["description"]
        assert {"200", "201", "422"} <= set(answer["responses"])
        assert not any(path.startswith(("/r/", "/u/")) for path in paths)
