"""A survey's purpose (standard | followup, carried by its response events) and its respondent-facing title."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from services.survey_api.models import OutboxEvent
from services.survey_api.outreach import sender
from services.survey_api.settings import SurveySettings
from shared.db import utcnow
from tests.conftest import TokenFactory
from tests.survey_api.distribution_helpers import WRITER, create_at, settings_with
from tests.survey_api.fakes import SmsServer, SmtpServer, sms_server, smtp_server
from tests.survey_api.helpers import NPS_PLUS, make_units, ok
from tests.survey_api.test_followups import contact, invitations, request_followup
from tests.survey_api.test_hosted import make_contact, make_invitation

Client = httpx.AsyncClient
TITLE = {"en": "Your delivery", "de": "Ihre Lieferung"}


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(**WRITER)


@pytest.fixture
def admin(auth: TokenFactory) -> dict[str, str]:
    return auth(scopes="admin")


async def published(client: Client, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    """The NPS+ survey with these fields, created and published (no touchpoint)."""
    created = await ok(await client.post("/v1/surveys", json={**NPS_PLUS, **fields}, headers=headers))
    return await ok(await client.post(f"/v1/surveys/{created['id']}/publish", headers=headers), 200)


async def response_events(app: FastAPI) -> list[dict[str, Any]]:
    async with app.state.db.sessions() as session:
        rows = (await session.exec(select(OutboxEvent).order_by(OutboxEvent.id))).all()
    return [row.payload["data"] for row in rows if row.event_type.startswith("response.")]


async def answer(client: Client, headers: dict[str, str], survey_id: str, external_id: str) -> dict[str, Any]:
    body = {"survey_id": survey_id, "external_id": external_id, "channel": "api", "answers": {"nps": 9}}
    return await ok(await client.post("/v1/responses", json=body, headers=headers))


class TestPurpose:
    async def test_default_standard_and_events_carry_the_purpose(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str]
    ) -> None:
        standard = await published(survey_client, headers)
        followup = await published(survey_client, headers, purpose="followup")
        assert (standard["purpose"], followup["purpose"]) == ("standard", "followup")
        await answer(survey_client, headers, standard["id"], "a")
        await answer(survey_client, headers, followup["id"], "b")
        events = await response_events(survey_app)
        assert [(e["survey_id"], e["purpose"]) for e in events] == [
            (standard["id"], "standard"),
            (followup["id"], "followup"),
        ]
        # Not versioned: a change applies at once (no new version to publish), from the next event on.
        await ok(
            await survey_client.patch(f"/v1/surveys/{standard['id']}", json={"purpose": "followup"}, headers=headers),
            200,
        )
        survey = await ok(await survey_client.get(f"/v1/surveys/{standard['id']}", headers=headers), 200)
        assert (survey["purpose"], survey["has_unpublished_changes"]) == ("followup", False)
        await answer(survey_client, headers, standard["id"], "c")
        assert (await response_events(survey_app))[-1]["purpose"] == "followup"

    async def test_built_in_follow_up_survey_is_followup(
        self, survey_client: Client, survey_app: FastAPI, auth: TokenFactory, headers: dict[str, str]
    ) -> None:
        await request_followup(survey_client, auth, await contact(survey_client, headers, email="ann@example.com"))
        [invitation] = await invitations(survey_app)
        survey = await ok(await survey_client.get(f"/v1/surveys/{invitation.survey_id}", headers=headers), 200)
        assert (survey["name"], survey["purpose"]) == ("Case follow-up", "followup")

    async def test_org_followup_survey_must_be_a_followup_survey_of_the_org(
        self, survey_client: Client, auth: TokenFactory, headers: dict[str, str], admin: dict[str, str]
    ) -> None:
        standard = await published(survey_client, headers)
        theirs = await published(survey_client, auth(org="globex", **WRITER), purpose="followup")
        for survey_id, code in (
            (theirs["id"], "unknown_survey"),
            ("survey_nope", "unknown_survey"),
            (standard["id"], "not_a_followup_survey"),
        ):
            refused = await survey_client.put("/v1/org-settings", json={"followup_survey_id": survey_id}, headers=admin)
            assert refused.status_code == 422, refused.text
            assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [("followup_survey_id", code)]
        settings = await ok(await survey_client.get("/v1/org-settings", headers=admin), 200)
        assert settings["followup_survey_id"] is None  # nothing was stored

    async def test_a_followup_survey_named_by_the_org_stays_followup(
        self, survey_client: Client, headers: dict[str, str], admin: dict[str, str]
    ) -> None:
        chosen = await published(survey_client, headers, purpose="followup")
        await ok(
            await survey_client.put("/v1/org-settings", json={"followup_survey_id": chosen["id"]}, headers=admin), 200
        )
        refused = await survey_client.patch(
            f"/v1/surveys/{chosen['id']}", json={"purpose": "standard"}, headers=headers
        )
        assert refused.status_code == 422
        assert [e["field"] for e in refused.json()["errors"]] == ["purpose"]
        await ok(await survey_client.put("/v1/org-settings", json={"followup_survey_id": None}, headers=admin), 200)
        changed = await survey_client.patch(
            f"/v1/surveys/{chosen['id']}", json={"purpose": "standard"}, headers=headers
        )
        assert changed.json()["purpose"] == "standard"

    async def test_purpose_is_validated(self, survey_client: Client, headers: dict[str, str]) -> None:
        refused = await survey_client.post("/v1/surveys", json={**NPS_PLUS, "purpose": "recovery"}, headers=headers)
        assert refused.status_code == 422 and "purpose" in [e["field"] for e in refused.json()["errors"]]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def provider() -> Iterator[SmsServer]:
    with sms_server() as server:
        yield server


class TestTitle:
    async def test_title_languages_must_be_the_surveys_and_complete_to_publish(
        self, survey_client: Client, headers: dict[str, str]
    ) -> None:
        refused = await survey_client.post(
            "/v1/surveys", json={**NPS_PLUS, "title": {"fr": "Livraison"}}, headers=headers
        )
        assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [("title.fr", "not_a_survey_language")]
        draft = await ok(
            await survey_client.post(
                "/v1/surveys", json={**NPS_PLUS, "title": {"en": "Your delivery"}}, headers=headers
            )
        )
        unready = await survey_client.post(f"/v1/surveys/{draft['id']}/publish", headers=headers)
        assert unready.status_code == 422
        assert [(e["field"], e["code"]) for e in unready.json()["errors"]] == [("title.de", "missing_translation")]

    async def test_title_is_versioned(self, survey_client: Client, headers: dict[str, str]) -> None:
        survey = await published(survey_client, headers, title=TITLE)
        edited = await ok(
            await survey_client.patch(f"/v1/surveys/{survey['id']}", json={"title": None}, headers=headers), 200
        )
        assert (edited["title"], edited["version"], edited["has_unpublished_changes"]) == (None, 2, True)
        frozen = await ok(await survey_client.get(f"/v1/surveys/{survey['id']}/versions/1", headers=headers), 200)
        assert frozen["title"] == TITLE

    async def test_page_and_public_api_show_the_title_not_the_name(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str]
    ) -> None:
        titled = await published(survey_client, headers, title=TITLE)
        plain = await published(survey_client, headers)
        german = await make_contact(survey_client, headers, locale="de")
        token = await make_invitation(survey_app, titled["id"], contact_id=german["id"], language="de")
        page = (await survey_client.get(f"/r/{token}")).text
        assert "<title>Ihre Lieferung</title>" in page and "<h1>Ihre Lieferung</h1>" in page
        assert "After delivery" not in page
        public = await ok(await survey_client.get(f"/v1/public/invitations/{token}"), 200)
        assert public["survey"]["title"] == "Ihre Lieferung" and "name" not in public["survey"]
        english = await ok(await survey_client.get(f"/v1/public/invitations/{token}?lang=en"), 200)
        assert english["survey"]["title"] == "Your delivery"
        untitled = await make_invitation(survey_app, plain["id"], contact_id=german["id"], language="de")
        fallback = await ok(await survey_client.get(f"/v1/public/invitations/{untitled}"), 200)
        assert fallback["survey"]["title"] == "After delivery"  # no title: the name

    async def test_email_subject_and_sms_use_the_title(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        smtp: SmtpServer,
        provider: SmsServer,
    ) -> None:
        settings: SurveySettings = settings_with(survey_app, smtp_url=smtp.url, sms_url=provider.url)
        survey = await published(survey_client, headers, title=TITLE)
        await make_units(survey_client, headers, "emea")
        anna = await make_contact(survey_client, headers, email="anna@example.com", locale="de")
        ben = await make_contact(survey_client, headers, email="ben@example.com", phone="+4915112345678", locale="en")
        now = utcnow()
        await create_at(survey_app, now, survey_id=survey["id"], channel="email", contact_ids=[anna["id"]])
        await create_at(survey_app, now, survey_id=survey["id"], channel="sms", contact_ids=[ben["id"]])
        assert await sender.send_due(survey_app, settings, now) == 2
        (mail,) = smtp.to("anna@example.com")
        assert mail["Subject"] == "Ihre Lieferung: Wie war Ihre Erfahrung?"
        (text,) = provider.received
        assert text["Body"].startswith("Your delivery: how did we do? ")
