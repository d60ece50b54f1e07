"""`/v1/triggers`: in-the-moment invitations, idempotent per interaction, deterministic sampling."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.survey_api.outreach.invitations import find_by_token
from services.survey_api.outreach.triggers import sampled_in
from shared.db import utcnow
from tests.conftest import TokenFactory
from tests.survey_api.distribution_helpers import WRITER, event_types, stored_invitations
from tests.survey_api.helpers import NPS_PLUS, ok, published_survey

Client = httpx.AsyncClient


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(**WRITER)


@pytest.fixture
async def survey(survey_client: Client, headers: dict[str, str]) -> dict[str, Any]:
    return await published_survey(survey_client, headers)


def trigger(survey: dict[str, Any], interaction_id: str = "order-1", **extra: Any) -> dict[str, Any]:
    contact = {"external_id": "cust-1", "email": "cust1@example.com", "locale": "de"}
    return {"interaction_id": interaction_id, "touchpoint_id": survey["touchpoint_id"], "contact": contact, **extra}


async def post(client: Client, headers: dict[str, str], body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    return await ok(await client.post("/v1/triggers", json=body, headers=headers), status)


class TestCreateTrigger:
    async def test_unauthenticated(self, survey_client: Client, survey: dict[str, Any]) -> None:
        problem(await survey_client.post("/v1/triggers", json=trigger(survey)), 401)

    async def test_missing_scope(self, survey_client: Client, auth: TokenFactory, survey: dict[str, Any]) -> None:
        response = await survey_client.post("/v1/triggers", json=trigger(survey), headers=auth(scopes="contacts:write"))
        assert "distributions:write" in problem(response, 403)["detail"]

    async def test_other_tenant(self, survey_client: Client, auth: TokenFactory, survey: dict[str, Any]) -> None:
        response = await survey_client.post("/v1/triggers", json=trigger(survey), headers=auth(org="globex", **WRITER))
        problem(response, 404)

    async def test_not_found(self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]) -> None:
        body = {**trigger(survey), "touchpoint_id": "tp_nope"}
        problem(await survey_client.post("/v1/triggers", json=body, headers=headers), 404)

    async def test_valid_invitation_created(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        created = await post(survey_client, headers, trigger(survey))
        assert (created["status"], created["reason"], created["channel"]) == ("scheduled", None, "email")
        assert created["survey_id"] == survey["id"] and created["url"].endswith(created["token"])
        (stored,) = await stored_invitations(survey_app)
        assert (stored.interaction_id, stored.distribution_id, stored.language) == ("order-1", None, "de")
        assert (stored.status, stored.contact_id) == ("scheduled", created["contact_id"])
        async with survey_app.state.db.sessions() as session:
            found = await find_by_token(session, created["token"])
            assert found is not None and found.id == created["invitation_id"]
        contacts = await ok(
            await survey_client.get("/v1/contacts", params={"external_id": "cust-1"}, headers=headers), 200
        )
        assert contacts["items"][0]["id"] == created["contact_id"]


class TestIdempotency:
    async def test_a_repeated_interaction_answers_the_first_result(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        first = await post(survey_client, headers, trigger(survey, channel="link"))
        again = await post(survey_client, headers, trigger(survey, channel="link"), status=200)
        changed = {**trigger(survey), "contact": {"external_id": "someone-else", "email": "x@example.com"}}
        other_body = await post(survey_client, headers, changed, status=200)
        assert first == again == other_body
        assert len(await stored_invitations(survey_app)) == 1
        assert await event_types(survey_app) == ["invitation.sent", "invitation.delivered"]

    async def test_concurrent_copies_create_one_invitation(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        responses = await asyncio.gather(
            *(survey_client.post("/v1/triggers", json=trigger(survey), headers=headers) for _ in range(3))
        )
        assert sorted(r.status_code for r in responses) == [200, 200, 201], [r.text for r in responses]
        assert len({r.json()["invitation_id"] for r in responses}) == 1
        assert len(await stored_invitations(survey_app)) == 1

    async def test_the_same_interaction_id_in_another_org_is_another_interaction(
        self, survey_client: Client, auth: TokenFactory, survey: dict[str, Any]
    ) -> None:
        globex = auth(org="globex", **WRITER)
        theirs = await published_survey(survey_client, globex)
        mine = await post(survey_client, auth(**WRITER), trigger(survey))
        other = await post(survey_client, globex, trigger(theirs))
        assert mine["invitation_id"] != other["invitation_id"]


class TestSampling:
    async def test_zero_percent_is_sampled_out_and_stays_so(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        out = await post(survey_client, headers, trigger(survey, sampling_percent=0))
        assert (out["status"], out["reason"], out["url"], out["token"]) == ("suppressed", "sampled_out", None, None)
        again = await post(survey_client, headers, trigger(survey, sampling_percent=100), status=200)
        assert again == out  # a retry gets the first decision, whatever it now asks for
        (stored,) = await stored_invitations(survey_app)
        assert (stored.status, stored.reason, stored.token_hash) == ("suppressed", "sampled_out", None)

    def test_the_decision_is_a_deterministic_hash_of_the_interaction(self) -> None:
        decisions = [sampled_in("acme", f"order-{i}", 30) for i in range(4000)]
        assert decisions == [sampled_in("acme", f"order-{i}", 30) for i in range(4000)]
        assert 0.26 < sum(decisions) / len(decisions) < 0.34
        assert all(sampled_in("acme", f"order-{i}", 100) for i in range(100))
        assert not any(sampled_in("acme", f"order-{i}", 0) for i in range(100))
        # A larger sample keeps every interaction the smaller one took.
        assert all(sampled_in("acme", f"order-{i}", 60) for i in range(4000) if decisions[i])

    async def test_the_api_follows_the_hash(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        for i in range(12):
            body = {**trigger(survey, f"sample-{i}", sampling_percent=50), "contact": {"external_id": f"c{i}"}}
            body["channel"] = "link"
            result = await post(survey_client, headers, body)
            assert (result["reason"] != "sampled_out") == sampled_in("acme", f"sample-{i}", 50)


class TestSurveyChoice:
    async def test_no_active_survey_at_the_touchpoint_is_a_conflict(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        await ok(await survey_client.post(f"/v1/surveys/{survey['id']}/close", headers=headers), 200)
        detail = problem(await survey_client.post("/v1/triggers", json=trigger(survey), headers=headers), 409)["detail"]
        assert survey["touchpoint_id"] in detail

    async def test_the_newest_active_survey_listens(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        body = {**NPS_PLUS, "name": "Newer", "touchpoint_id": survey["touchpoint_id"]}
        newer = await ok(await survey_client.post("/v1/surveys", json=body, headers=headers))
        await ok(await survey_client.post(f"/v1/surveys/{newer['id']}/publish", headers=headers), 200)
        assert (await post(survey_client, headers, trigger(survey)))["survey_id"] == newer["id"]

    async def test_an_interaction_older_than_the_expiry_is_refused(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        old = (utcnow() - dt.timedelta(days=31)).isoformat()
        response = await survey_client.post("/v1/triggers", json=trigger(survey, occurred_at=old), headers=headers)
        assert problem(response, 422)["errors"][0]["field"] == "occurred_at"
        recent = (utcnow() - dt.timedelta(days=2)).isoformat()
        created = await post(survey_client, headers, trigger(survey, occurred_at=recent))
        assert dt.datetime.fromisoformat(created["expires_at"]) < utcnow() + dt.timedelta(days=29)


class TestSuppression:
    async def test_distribution_rules_apply(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        first = await post(survey_client, headers, trigger(survey, "order-1"))
        second = await post(survey_client, headers, trigger(survey, "order-2"))  # same contact, invitation open
        assert (first["status"], second["status"], second["reason"]) == ("scheduled", "suppressed", "duplicate")
        quiet = {"external_id": "quiet", "email": "q@example.com", "unsubscribed": True}
        unsubscribed = await post(survey_client, headers, {**trigger(survey, "order-3"), "contact": quiet})
        assert unsubscribed["reason"] == "unsubscribed"
        no_phone = await post(survey_client, headers, trigger(survey, "order-4", channel="sms"))
        assert no_phone["reason"] == "no_address"

    async def test_an_in_app_intercept_is_handed_out(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        created = await post(survey_client, headers, trigger(survey, channel="in_app"))
        assert created["status"] == "sent" and created["url"]
        displayed = await survey_client.post(f"/v1/invitations/{created['invitation_id']}/display", headers=headers)
        assert (await ok(displayed, 200))["status"] == "displayed"
