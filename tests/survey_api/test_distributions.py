"""`/v1/distributions`: every targeted contact's fate, links shown once, suppression reasons, counts, display."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from services.survey_api.outreach.invitations import find_by_token, hash_token
from shared.db import utcnow
from tests.conftest import TokenFactory
from tests.survey_api.distribution_helpers import (
    SCOPES,
    WRITER,
    create_at,
    distribute,
    event_types,
    make_contact,
    stored_invitations,
)
from tests.survey_api.helpers import NPS_PLUS, ok, published_survey

Client = httpx.AsyncClient
PROBLEM = "application/problem+json"


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(**WRITER)


@pytest.fixture
async def survey(survey_client: Client, headers: dict[str, str]) -> dict[str, Any]:
    return await published_survey(survey_client, headers)


async def another_survey(client: Client, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """A second active survey (no touchpoint)."""
    created = await ok(
        await client.post("/v1/surveys", json={**NPS_PLUS, "name": "Another", **overrides}, headers=headers)
    )
    return await ok(await client.post(f"/v1/surveys/{created['id']}/publish", headers=headers), 200)


class TestCreateDistribution:
    async def test_unauthenticated(self, survey_client: Client) -> None:
        response = await survey_client.post("/v1/distributions", json={"survey_id": "x", "channel": "link"})
        problem(response, 401)

    async def test_missing_scope(self, survey_client: Client, auth: TokenFactory, survey: dict[str, Any]) -> None:
        body = {"survey_id": survey["id"], "channel": "link", "contact_ids": ["ct_1"]}
        response = await survey_client.post("/v1/distributions", json=body, headers=auth(scopes="surveys:write"))
        assert "distributions:write" in problem(response, 403)["detail"]

    async def test_other_tenant(self, survey_client: Client, auth: TokenFactory, survey: dict[str, Any]) -> None:
        body = {"survey_id": survey["id"], "channel": "link", "contact_ids": ["ct_1"]}
        problem(await survey_client.post("/v1/distributions", json=body, headers=auth(org="globex", **WRITER)), 404)

    async def test_not_found(self, survey_client: Client, headers: dict[str, str]) -> None:
        body = {"survey_id": "survey_nope", "channel": "link", "contact_ids": ["ct_1"]}
        problem(await survey_client.post("/v1/distributions", json=body, headers=headers), 404)

    async def test_valid_link_urls_open_their_invitation_and_only_hashes_are_stored(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        ann = await make_contact(survey_client, headers, email="ann@example.com", locale="de")
        bob = await make_contact(survey_client, headers, phone="+4915112345678")
        created = await distribute(
            survey_client, headers, survey_id=survey["id"], channel="link", contact_ids=[ann["id"], bob["id"]]
        )
        assert created["counts"] == {"scheduled": 0, "sent": 2, "suppressed": 0}
        assert [i["contact_id"] for i in created["invitations"]] == [ann["id"], bob["id"]]
        stored = {i.id: i for i in await stored_invitations(survey_app)}
        async with survey_app.state.db.sessions() as session:
            for outcome in created["invitations"]:
                assert outcome["status"] == "sent"
                assert outcome["url"].endswith(f"/r/{outcome['token']}")
                found = await find_by_token(session, outcome["token"])
                assert found is not None and found.id == outcome["invitation_id"]
                invitation = stored[outcome["invitation_id"]]
                assert invitation.token_hash == hash_token(outcome["token"]) != outcome["token"]
                assert outcome["token"] not in repr(invitation.model_dump())
                assert (invitation.status, invitation.delivered_at is not None) == ("delivered", True)
        assert stored[created["invitations"][0]["invitation_id"]].language == "de"
        assert await event_types(survey_app, created["invitations"][0]["invitation_id"]) == [
            "invitation.sent",
            "invitation.delivered",
        ]

    async def test_inactive_survey_is_a_conflict(self, survey_client: Client, headers: dict[str, str]) -> None:
        draft = await ok(await survey_client.post("/v1/surveys", json=NPS_PLUS, headers=headers))
        contact = await make_contact(survey_client, headers, email="ann@example.com")
        body = {"survey_id": draft["id"], "channel": "link", "contact_ids": [contact["id"]]}
        assert (
            "draft" in problem(await survey_client.post("/v1/distributions", json=body, headers=headers), 409)["detail"]
        )

    @pytest.mark.parametrize(
        "change",
        [
            {"audience": {"unit": "emea"}},  # both targets
            {"contact_ids": None},  # neither
            {"contact_ids": []},
            {"reminder": {"after_days": 0, "max_count": 1}},
            {"reminder": {"after_days": 3, "max_count": 6}},
            {"expires_in_days": 366},
            {"channel": "fax"},
            {"send_at": "2030-01-01T10:00:00"},  # no offset
        ],
    )
    async def test_invalid_bodies(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any], change: dict[str, Any]
    ) -> None:
        body = {"survey_id": survey["id"], "channel": "email", "contact_ids": ["ct_1"], **change}
        problem(
            await survey_client.post(
                "/v1/distributions", json={k: v for k, v in body.items() if v is not None}, headers=headers
            ),
            422,
        )

    async def test_more_than_10000_contact_ids_is_refused(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        body = {"survey_id": survey["id"], "channel": "link", "contact_ids": [f"ct_{i}" for i in range(10_001)]}
        problem(await survey_client.post("/v1/distributions", json=body, headers=headers), 422)


class TestSuppression:
    async def test_every_reason_and_every_contact_exactly_once(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        c = {
            "fine": await make_contact(survey_client, headers, email="fine@example.com"),
            "no_consent_recorded": await make_contact(survey_client, headers, email="quiet@example.com"),
            "unsubscribed": await make_contact(survey_client, headers, email="out@example.com", unsubscribed=True),
            "no_consent": await make_contact(
                survey_client, headers, email="nope@example.com", consent={"email": False, "sms": True}
            ),
            "no_address": await make_contact(survey_client, headers, phone="+4915112345678"),
            "erased": await make_contact(survey_client, headers, email="gone@example.com"),
            "invited": await make_contact(survey_client, headers, email="invited@example.com"),
            "recent": await make_contact(survey_client, headers, email="recent@example.com"),
        }
        other = await another_survey(survey_client, headers)
        assert (await survey_client.delete(f"/v1/contacts/{c['erased']['id']}", headers=headers)).status_code == 204
        await distribute(
            survey_client, headers, survey_id=survey["id"], channel="link", contact_ids=[c["invited"]["id"]]
        )
        await distribute(survey_client, headers, survey_id=other["id"], channel="link", contact_ids=[c["recent"]["id"]])
        listed = [
            c["fine"]["id"], c["no_consent_recorded"]["id"], c["unsubscribed"]["id"], c["no_consent"]["id"],
            c["no_address"]["id"], c["erased"]["id"], "ct_unknown", c["invited"]["id"], c["recent"]["id"],
            c["fine"]["id"],
        ]  # fmt: skip
        created = await distribute(survey_client, headers, survey_id=survey["id"], channel="email", contact_ids=listed)
        fates = [(i["contact_id"], i["status"], i["reason"]) for i in created["invitations"]]
        assert fates == [
            (c["fine"]["id"], "scheduled", None),
            (c["no_consent_recorded"]["id"], "scheduled", None),  # missing consent counts as allowed
            (c["unsubscribed"]["id"], "suppressed", "unsubscribed"),
            (c["no_consent"]["id"], "suppressed", "no_consent"),
            (c["no_address"]["id"], "suppressed", "no_address"),
            (c["erased"]["id"], "suppressed", "unknown_contact"),
            ("ct_unknown", "suppressed", "unknown_contact"),
            (c["invited"]["id"], "suppressed", "duplicate"),  # an open invitation to this survey
            (c["recent"]["id"], "suppressed", "contact_frequency"),  # invited to another survey just now
            (c["fine"]["id"], "suppressed", "duplicate"),  # listed twice
        ]
        assert created["counts"] == {"scheduled": 2, "sent": 0, "suppressed": 8}
        scheduled = [i for i in created["invitations"] if i["status"] == "scheduled"]
        assert all(i["url"] and i["token"] for i in scheduled)
        assert not any(i["url"] or i["token"] for i in created["invitations"] if i["status"] == "suppressed")
        # Known contacts' suppressions are stored with their reason; unknown ids and repeats have no row to hang on.
        stored = await stored_invitations(survey_app, distribution_id=created["id"])
        assert sorted((i.status, i.reason or "") for i in stored) == [
            ("scheduled", ""), ("scheduled", ""), ("suppressed", "contact_frequency"), ("suppressed", "duplicate"),
            ("suppressed", "no_address"), ("suppressed", "no_consent"), ("suppressed", "unsubscribed"),
        ]  # fmt: skip
        assert all(i.token_hash is None for i in stored if i.status == "suppressed")

    async def test_sms_needs_a_phone_and_honours_sms_consent(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        mail_only = await make_contact(survey_client, headers, email="mail@example.com")
        refused = await make_contact(survey_client, headers, phone="+4915100000001", consent={"sms": False})
        texted = await make_contact(survey_client, headers, phone="+4915100000002", consent={"email": False})
        created = await distribute(
            survey_client,
            headers,
            survey_id=survey["id"],
            channel="sms",
            contact_ids=[mail_only["id"], refused["id"], texted["id"]],
        )
        assert [i["reason"] for i in created["invitations"]] == ["no_address", "no_consent", None]

    async def test_a_unit_restricted_token_sees_only_its_contacts(
        self, survey_client: Client, auth: TokenFactory, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        for path in ("emea", "emea/de", "amer"):
            await ok(await survey_client.post("/v1/units", json={"path": path, "name": path}, headers=headers))
        inside = await make_contact(survey_client, headers, email="in@example.com", unit="emea/de")
        outside = await make_contact(survey_client, headers, email="out@example.com", unit="amer")
        restricted = auth(units=["emea"], scopes=SCOPES)
        created = await distribute(
            survey_client, restricted, survey_id=survey["id"], channel="link", contact_ids=[inside["id"], outside["id"]]
        )
        assert [i["reason"] for i in created["invitations"]] == [None, "unknown_contact"]


class TestAudience:
    async def test_unit_subtree_and_exact_attributes(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        for path in ("emea", "emea/de", "amer"):
            await ok(await survey_client.post("/v1/units", json={"path": path, "name": path}, headers=headers))
        vip = await make_contact(
            survey_client, headers, email="a@example.com", unit="emea/de", attributes={"tier": "gold", "vip": True}
        )
        await make_contact(
            survey_client, headers, email="b@example.com", unit="emea", attributes={"tier": "gold", "vip": 1}
        )
        await make_contact(
            survey_client, headers, email="c@example.com", unit="amer", attributes={"tier": "gold", "vip": True}
        )
        await make_contact(survey_client, headers, email="d@example.com", unit="emea/de", attributes={"tier": "silver"})
        created = await distribute(
            survey_client,
            headers,
            survey_id=survey["id"],
            channel="email",
            audience={"unit": "emea", "attributes": {"tier": "gold", "vip": True}},
        )
        assert [i["contact_id"] for i in created["invitations"]] == [vip["id"]]
        by_unit = await distribute(
            survey_client, headers, survey_id=survey["id"], channel="web", audience={"unit": "emea"}
        )
        assert {i["reason"] for i in by_unit["invitations"]} == {"duplicate", None}
        assert len(by_unit["invitations"]) == 3

    async def test_empty_audience_and_unknown_unit_are_refused(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        await make_contact(survey_client, headers, email="a@example.com", attributes={"tier": "gold"})
        empty = {"survey_id": survey["id"], "channel": "email", "audience": {"attributes": {"tier": "platinum"}}}
        assert (
            problem(await survey_client.post("/v1/distributions", json=empty, headers=headers), 422)["errors"][0][
                "code"
            ]
            == "empty_audience"
        )
        unknown = {"survey_id": survey["id"], "channel": "email", "audience": {"unit": "nowhere"}}
        assert (
            problem(await survey_client.post("/v1/distributions", json=unknown, headers=headers), 422)["errors"][0][
                "code"
            ]
            == "unknown_unit"
        )

    async def test_an_audience_outside_the_tokens_units_is_forbidden(
        self, survey_client: Client, auth: TokenFactory, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        body = {"survey_id": survey["id"], "channel": "email", "audience": {"unit": "amer"}}
        response = await survey_client.post("/v1/distributions", json=body, headers=auth(units=["emea"], scopes=SCOPES))
        problem(response, 403)


class TestScheduledEmail:
    async def test_future_send_at_is_scheduled_with_its_link(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers, email="later@example.com")
        send_at = (utcnow() + dt.timedelta(days=2)).replace(microsecond=0)
        created = await distribute(
            survey_client,
            headers,
            survey_id=survey["id"],
            channel="email",
            contact_ids=[contact["id"]],
            send_at=send_at.isoformat(),
            expires_in_days=7,
        )
        (outcome,) = created["invitations"]
        assert (outcome["status"], bool(outcome["url"])) == ("scheduled", True)
        (stored,) = await stored_invitations(survey_app)
        assert (stored.status, stored.next_attempt_at) == ("scheduled", send_at)
        assert stored.expires_at == send_at + dt.timedelta(days=7)
        assert await event_types(survey_app) == []  # nothing happened yet that a metric counts


class TestGetDistribution:
    async def test_unauthenticated(self, survey_client: Client) -> None:
        problem(await survey_client.get("/v1/distributions/dist_x"), 401)

    async def test_missing_scope(self, survey_client: Client, auth: TokenFactory) -> None:
        problem(await survey_client.get("/v1/distributions/dist_x", headers=auth(scopes="contacts:read")), 403)

    async def test_other_tenant(
        self, survey_client: Client, auth: TokenFactory, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers, email="a@example.com")
        created = await distribute(
            survey_client, headers, survey_id=survey["id"], channel="link", contact_ids=[contact["id"]]
        )
        response = await survey_client.get(f"/v1/distributions/{created['id']}", headers=auth(org="globex", **WRITER))
        problem(response, 404)

    async def test_not_found(self, survey_client: Client, headers: dict[str, str]) -> None:
        problem(await survey_client.get("/v1/distributions/dist_nope", headers=headers), 404)

    async def test_valid_counts_by_status(
        self, survey_client: Client, auth: TokenFactory, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        a = await make_contact(survey_client, headers, email="a@example.com")
        b = await make_contact(survey_client, headers, email="b@example.com", unsubscribed=True)
        created = await distribute(
            survey_client, headers, survey_id=survey["id"], channel="link", contact_ids=[a["id"], b["id"], "ct_x"]
        )
        response = await survey_client.get(f"/v1/distributions/{created['id']}", headers=auth(scopes="surveys:read"))
        body = await ok(response, 200)
        assert body["counts"]["delivered"] == 1 and body["counts"]["suppressed"] == 1
        assert sum(body["counts"].values()) == 2
        assert (body["audience"], body["channel"], body["created_by"]) == ({"contact_ids": 3}, "link", "tester")
        listed = await ok(
            await survey_client.get("/v1/distributions", params={"survey_id": survey["id"]}, headers=headers), 200
        )
        assert [d["id"] for d in listed["items"]] == [created["id"]]
        assert listed["items"][0]["counts"] == body["counts"]


class TestListInvitations:
    async def test_unauthenticated(self, survey_client: Client) -> None:
        problem(await survey_client.get("/v1/distributions/dist_x/invitations"), 401)

    async def test_missing_scope(self, survey_client: Client, auth: TokenFactory) -> None:
        response = await survey_client.get("/v1/distributions/dist_x/invitations", headers=auth(scopes="contacts:read"))
        problem(response, 403)

    async def test_other_tenant(
        self, survey_client: Client, auth: TokenFactory, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers, email="a@example.com")
        created = await distribute(
            survey_client, headers, survey_id=survey["id"], channel="link", contact_ids=[contact["id"]]
        )
        url = f"/v1/distributions/{created['id']}/invitations"
        problem(await survey_client.get(url, headers=auth(org="globex", **WRITER)), 404)

    async def test_not_found(self, survey_client: Client, headers: dict[str, str]) -> None:
        problem(await survey_client.get("/v1/distributions/dist_nope/invitations", headers=headers), 404)

    async def test_valid_pages_without_tokens(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        ids = [(await make_contact(survey_client, headers, email=f"p{i}@example.com"))["id"] for i in range(5)]
        created = await distribute(survey_client, headers, survey_id=survey["id"], channel="email", contact_ids=ids)
        url = f"/v1/distributions/{created['id']}/invitations"
        seen: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            page = await ok(await survey_client.get(url, params=params, headers=headers), 200)
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert [i["contact_id"] for i in seen] == ids
        assert all(i["status"] == "scheduled" and "token" not in i and "token_hash" not in i for i in seen)
        tokens = [i["token"] for i in created["invitations"]]
        assert not any(token in str(seen) for token in tokens)


class TestDisplay:
    async def _web(self, client: Client, headers: dict[str, str], survey: dict[str, Any], channel: str = "web") -> str:
        contact = await make_contact(client, headers, email=f"{channel}@example.com")
        created = await distribute(
            client, headers, survey_id=survey["id"], channel=channel, contact_ids=[contact["id"]]
        )
        invitation_id: str = created["invitations"][0]["invitation_id"]
        return invitation_id

    async def test_unauthenticated(self, survey_client: Client) -> None:
        problem(await survey_client.post("/v1/invitations/inv_x/display"), 401)

    async def test_missing_scope(self, survey_client: Client, auth: TokenFactory) -> None:
        problem(await survey_client.post("/v1/invitations/inv_x/display", headers=auth(scopes="surveys:read")), 403)

    async def test_other_tenant(
        self, survey_client: Client, auth: TokenFactory, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        invitation_id = await self._web(survey_client, headers, survey)
        url = f"/v1/invitations/{invitation_id}/display"
        problem(await survey_client.post(url, headers=auth(org="globex", **WRITER)), 404)

    async def test_not_found(self, survey_client: Client, headers: dict[str, str]) -> None:
        problem(await survey_client.post("/v1/invitations/inv_nope/display", headers=headers), 404)

    async def test_valid_display_counts_as_delivered_once(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        invitation_id = await self._web(survey_client, headers, survey, "in_app")
        (before,) = await stored_invitations(survey_app)
        assert (before.status, before.delivered_at) == ("sent", None)  # an intercept is not delivered until shown
        first = await ok(await survey_client.post(f"/v1/invitations/{invitation_id}/display", headers=headers), 200)
        again = await ok(await survey_client.post(f"/v1/invitations/{invitation_id}/display", headers=headers), 200)
        assert first["status"] == again["status"] == "displayed"
        assert first["delivered_at"] is not None and again["delivered_at"] == first["delivered_at"]
        assert await event_types(survey_app, invitation_id) == ["invitation.sent", "invitation.displayed"]

    async def test_only_intercepts_are_displayed(
        self, survey_client: Client, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        invitation_id = await self._web(survey_client, headers, survey, "link")
        problem(await survey_client.post(f"/v1/invitations/{invitation_id}/display", headers=headers), 409)


async def statements_for(app: FastAPI, survey_id: str, contact_ids: list[str]) -> int:
    """How many SQL statements creating an email distribution to these contacts takes."""
    count = 0

    def counted(*_args: Any) -> None:
        nonlocal count
        count += 1

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counted)
    try:
        await create_at(app, utcnow(), survey_id=survey_id, channel="email", contact_ids=contact_ids)
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    return count


class TestChunks:
    async def test_queries_grow_with_chunks_not_with_contacts(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str]
    ) -> None:
        items = [{"external_id": f"q-{i}", "email": f"q{i}@example.com"} for i in range(3000)]
        bulk = await ok(await survey_client.post("/v1/contacts/bulk", json={"items": items}, headers=headers), 200)
        ids = [item["id"] for item in bulk["items"]]
        one = await another_survey(survey_client, headers, contact_frequency_days=0)
        three = await another_survey(survey_client, headers, contact_frequency_days=0, name="Three chunks")
        small = await statements_for(survey_app, one["id"], ids[:1000])
        large = await statements_for(survey_app, three["id"], ids)
        assert small <= 15 and large <= 3 * small, (small, large)

    async def test_a_large_list_is_handled_in_chunks(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        items = [{"external_id": f"bulk-{i}", "email": f"bulk{i}@example.com"} for i in range(2500)]
        bulk = await ok(await survey_client.post("/v1/contacts/bulk", json={"items": items}, headers=headers), 200)
        ids = [item["id"] for item in bulk["items"]]
        now = utcnow()
        created = await create_at(survey_app, now, survey_id=survey["id"], channel="email", contact_ids=ids + ids[:3])
        assert created.counts.model_dump() == {"scheduled": 2500, "sent": 0, "suppressed": 3}
        assert [i.contact_id for i in created.invitations] == ids + ids[:3]
