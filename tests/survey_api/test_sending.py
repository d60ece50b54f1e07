"""The sender: email through a real SMTP server, SMS through a provider on loopback, retries, bounces, expiry."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from services.survey_api.outreach import delivery, mailer, sender, sms
from services.survey_api.outreach.invitations import find_by_token
from services.survey_api.outreach.links import invitation_token
from services.survey_api.outreach.sms import gsm_length
from services.survey_api.settings import SurveySettings
from shared.db import utcnow
from tests.conftest import TokenFactory
from tests.survey_api.distribution_helpers import (
    WRITER,
    create_at,
    event_types,
    make_contact,
    settings_with,
    stored_invitations,
)
from tests.survey_api.fakes import SmsServer, SmtpServer, sms_server, smtp_server
from tests.survey_api.helpers import ok, published_survey

Client = httpx.AsyncClient


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(**WRITER)


@pytest.fixture
async def survey(survey_client: Client, headers: dict[str, str]) -> dict[str, Any]:
    return await published_survey(survey_client, headers)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def provider() -> Iterator[SmsServer]:
    with sms_server() as server:
        yield server


@pytest.fixture
def settings(survey_app: FastAPI, smtp: SmtpServer, provider: SmsServer) -> SurveySettings:
    return settings_with(survey_app, smtp_url=smtp.url, sms_url=provider.url)


async def schedule(
    app: FastAPI, now: dt.datetime, survey_id: str, channel: str, *contact_ids: str, **extra: Any
) -> Any:
    created = await create_at(app, now, survey_id=survey_id, channel=channel, contact_ids=list(contact_ids), **extra)
    return created.invitations


class TestEmail:
    async def test_delivered_with_link_language_and_one_click_unsubscribe(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        survey: dict[str, Any],
        smtp: SmtpServer,
        settings: SurveySettings,
    ) -> None:
        anna = await make_contact(survey_client, headers, email="anna@example.com", name="Anna Müller", locale="de-AT")
        john = await make_contact(survey_client, headers, email="john@example.com", locale="it")
        now = utcnow()
        outcomes = await schedule(survey_app, now, survey["id"], "email", anna["id"], john["id"])
        assert await sender.send_due(survey_app, settings, now) == 2
        (german,), (fallback,) = smtp.to("anna@example.com"), smtp.to("john@example.com")
        assert german["Subject"] == "After delivery: Wie war Ihre Erfahrung?"
        assert german["From"] == "Acme Feedback <feedback@acme.test>"
        assert german["Content-Language"] == "de"
        assert german["List-Unsubscribe"] == f"<http://127.0.0.1:8001/u/{outcomes[0].token}>"
        assert german["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        text = german.get_body(("plain",))
        html = german.get_body(("html",))
        assert text is not None and html is not None
        assert outcomes[0].url in text.get_content() and f'href="{outcomes[0].url}"' in html.get_content()
        assert "Guten Tag Anna Müller" in text.get_content() and "Abmelden" in text.get_content()
        assert fallback["Subject"] == "After delivery: how did we do?"  # no Italian: the survey's default (en)
        assert smtp.logins == ["mailer"]
        stored = {i.id: i for i in await stored_invitations(survey_app)}
        sent = stored[outcomes[0].invitation_id]
        assert (sent.status, sent.sent_at, sent.delivered_at, sent.attempts) == ("delivered", now, now, 1)
        assert await event_types(survey_app, sent.id) == ["invitation.sent", "invitation.delivered"]
        async with survey_app.state.db.sessions() as session:
            found = await find_by_token(session, outcomes[0].token)
            assert found is not None and found.id == sent.id
        assert await sender.send_due(survey_app, settings, now + dt.timedelta(hours=1)) == 0  # never twice

    async def test_not_sent_before_send_at(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        survey: dict[str, Any],
        smtp: SmtpServer,
        settings: SurveySettings,
    ) -> None:
        contact = await make_contact(survey_client, headers, email="later@example.com")
        now = utcnow()
        send_at = now + dt.timedelta(days=1)
        await schedule(survey_app, now, survey["id"], "email", contact["id"], send_at=send_at.isoformat())
        assert await sender.send_due(survey_app, settings, now + dt.timedelta(hours=23)) == 0
        assert await sender.send_due(survey_app, settings, send_at) == 1
        assert len(smtp.messages) == 1

    async def test_transient_failure_is_retried_with_backoff(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        survey: dict[str, Any],
        smtp: SmtpServer,
        settings: SurveySettings,
    ) -> None:
        contact = await make_contact(survey_client, headers, email="busy@example.com")
        now = utcnow()
        await schedule(survey_app, now, survey["id"], "email", contact["id"])
        smtp.refuse["busy@example.com"] = "451 4.3.0 try again later"
        assert await sender.send_due(survey_app, settings, now) == 0
        (waiting,) = await stored_invitations(survey_app)
        assert (waiting.status, waiting.attempts) == ("scheduled", 1)
        assert waiting.last_error is not None and "451" in waiting.last_error
        assert waiting.next_attempt_at is not None
        assert now + dt.timedelta(seconds=47) <= waiting.next_attempt_at <= now + dt.timedelta(seconds=60)
        assert await sender.send_due(survey_app, settings, now + dt.timedelta(seconds=30)) == 0  # not yet due
        smtp.refuse.clear()
        later = now + dt.timedelta(minutes=2)
        assert await sender.send_due(survey_app, settings, later) == 1
        (sent,) = await stored_invitations(survey_app)
        assert (sent.status, sent.attempts, sent.last_error, sent.sent_at) == ("delivered", 2, None, later)
        assert len(smtp.messages) == 1

    async def test_permanent_failure_bounces_with_its_event(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        survey: dict[str, Any],
        smtp: SmtpServer,
        settings: SurveySettings,
    ) -> None:
        contact = await make_contact(survey_client, headers, email="nobody@example.com")
        now = utcnow()
        await schedule(survey_app, now, survey["id"], "email", contact["id"])
        smtp.refuse["nobody@example.com"] = "550 5.1.1 no such user"
        assert await sender.send_due(survey_app, settings, now) == 0
        (bounced,) = await stored_invitations(survey_app)
        assert (bounced.status, bounced.bounced_at, bounced.next_attempt_at) == ("bounced", now, None)
        assert bounced.last_error is not None and "550" in bounced.last_error
        assert await event_types(survey_app, bounced.id) == ["invitation.bounced"]

    async def test_gives_up_after_the_last_attempt(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        survey: dict[str, Any],
        smtp: SmtpServer,
        settings: SurveySettings,
    ) -> None:
        contact = await make_contact(survey_client, headers, email="flaky@example.com")
        now = utcnow()
        await schedule(survey_app, now, survey["id"], "email", contact["id"])
        smtp.refuse["flaky@example.com"] = "421 4.7.0 too busy"
        for attempt in range(sender.MAX_ATTEMPTS):
            await sender.send_due(survey_app, settings, now + dt.timedelta(days=attempt))
        (bounced,) = await stored_invitations(survey_app)
        assert (bounced.status, bounced.attempts) == ("bounced", sender.MAX_ATTEMPTS)

    async def test_an_unreachable_server_keeps_everything_scheduled(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers, email="a@example.com")
        now = utcnow()
        await schedule(survey_app, now, survey["id"], "email", contact["id"])
        nowhere = settings_with(survey_app, smtp_url="smtp://127.0.0.1:9?starttls=false")
        assert await sender.send_due(survey_app, nowhere, now) == 0
        (waiting,) = await stored_invitations(survey_app)
        assert (waiting.status, waiting.attempts) == ("scheduled", 1)
        assert waiting.last_error

    async def test_without_transports_nothing_is_claimed(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        contact = await make_contact(survey_client, headers, email="a@example.com")
        now = utcnow()
        await schedule(survey_app, now, survey["id"], "email", contact["id"])
        assert await sender.send_due(survey_app, settings_with(survey_app), now) == 0
        (waiting,) = await stored_invitations(survey_app)
        assert (waiting.status, waiting.attempts) == ("scheduled", 0)

    async def test_after_a_change_of_key_the_sent_link_is_the_one_that_opens(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        survey: dict[str, Any],
        smtp: SmtpServer,
        settings: SurveySettings,
    ) -> None:
        contact = await make_contact(survey_client, headers, email="rekey@example.com")
        now = utcnow()
        (outcome,) = await schedule(survey_app, now, survey["id"], "email", contact["id"])
        rotated = settings.model_copy(update={"token_secret": SecretStr("a-new-key-for-invitation-links-0123456789")})
        assert await sender.send_due(survey_app, rotated, now) == 1
        (message,) = smtp.messages
        token = str(message["List-Unsubscribe"]).rsplit("/", 1)[1].rstrip(">")
        assert token != outcome.token
        async with survey_app.state.db.sessions() as session:
            found = await find_by_token(session, token)
            assert found is not None and found.id == outcome.invitation_id
            assert await find_by_token(session, outcome.token) is None


class TestSms:
    async def test_delivered_within_160_gsm_characters_with_the_whole_link(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        auth: TokenFactory,
        provider: SmsServer,
        settings: SurveySettings,
    ) -> None:
        long_name = "Zufriedenheit nach der Lieferung \u2013 Łódź 😀 " + "sehr lange Umfrage " * 8
        body = {
            "name": long_name,
            "kind": "transactional",
            "languages": ["en", "de"],
            "questions": [{"key": "nps", "kind": "nps", "prompt": {"en": "Recommend?", "de": "Empfehlen?"}}],
        }
        survey = await published_survey(survey_client, headers, body)
        contact = await make_contact(survey_client, headers, phone="+4915112345678", locale="de")
        now = utcnow()
        (outcome,) = await schedule(survey_app, now, survey["id"], "sms", contact["id"])
        assert await sender.send_due(survey_app, settings, now) == 1
        (received,) = provider.received
        assert (received["To"], received["From"]) == ("+4915112345678", "ACME")
        assert received["authorization"].startswith("Basic ")
        text = received["Body"]
        assert outcome.url in text and text.endswith(outcome.url)
        assert gsm_length(text) <= 160
        assert text.startswith("Zufriedenheit nach der Lieferung - Lodz ? sehr lange")
        assert "..." in text and "Wie war Ihre Erfahrung?" in text
        (stored,) = await stored_invitations(survey_app)
        assert stored.status == "delivered"

    async def test_5xx_is_retried_and_4xx_bounces(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        survey: dict[str, Any],
        provider: SmsServer,
        settings: SurveySettings,
    ) -> None:
        retried = await make_contact(survey_client, headers, phone="+4915100000001")
        refused = await make_contact(survey_client, headers, phone="+4915100000002")
        now = utcnow()
        await schedule(survey_app, now, survey["id"], "sms", retried["id"], refused["id"])
        provider.status_for = {"+4915100000001": 503, "+4915100000002": 400}
        assert await sender.send_due(survey_app, settings, now) == 0
        by_contact = {i.contact_id: i for i in await stored_invitations(survey_app)}
        assert by_contact[retried["id"]].status == "scheduled" and "503" in (by_contact[retried["id"]].last_error or "")
        assert by_contact[refused["id"]].status == "bounced" and "400" in (by_contact[refused["id"]].last_error or "")
        assert await sender.send_due(survey_app, settings, now + dt.timedelta(minutes=5)) == 1
        assert [r["To"] for r in provider.received] == ["+4915100000001", "+4915100000002", "+4915100000001"]

    async def test_a_timeout_is_transient(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        survey: dict[str, Any],
        provider: SmsServer,
        settings: SurveySettings,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(sms, "TIMEOUT_SECONDS", 0.2)
        provider.delay = 1.0
        contact = await make_contact(survey_client, headers, phone="+4915100000001")
        now = utcnow()
        await schedule(survey_app, now, survey["id"], "sms", contact["id"])
        assert await sender.send_due(survey_app, settings, now) == 0
        (waiting,) = await stored_invitations(survey_app)
        assert waiting.status == "scheduled" and "Timeout" in (waiting.last_error or "")


class TestRechecks:
    async def test_a_contact_who_unsubscribed_meanwhile_is_suppressed(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        survey: dict[str, Any],
        smtp: SmtpServer,
        settings: SurveySettings,
    ) -> None:
        contact = await make_contact(survey_client, headers, email="leaving@example.com")
        now = utcnow()
        await schedule(survey_app, now, survey["id"], "email", contact["id"])
        await make_contact(survey_client, headers, email="leaving@example.com", unsubscribed=True)
        assert await sender.send_due(survey_app, settings, now) == 0
        (suppressed,) = await stored_invitations(survey_app)
        assert (suppressed.status, suppressed.reason) == ("suppressed", "unsubscribed")
        assert smtp.messages == []

    async def test_a_closed_survey_expires_its_unsent_invitations(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        survey: dict[str, Any],
        smtp: SmtpServer,
        settings: SurveySettings,
    ) -> None:
        contact = await make_contact(survey_client, headers, email="a@example.com")
        now = utcnow()
        await schedule(survey_app, now, survey["id"], "email", contact["id"])
        await ok(await survey_client.post(f"/v1/surveys/{survey['id']}/close", headers=headers), 200)
        assert await sender.send_due(survey_app, settings, now) == 0
        (expired,) = await stored_invitations(survey_app)
        assert expired.status == "expired" and smtp.messages == []
        assert await event_types(survey_app, expired.id) == ["invitation.expired"]


class TestExpiry:
    async def test_invitations_past_their_time_expire_once(
        self, survey_client: Client, survey_app: FastAPI, headers: dict[str, str], survey: dict[str, Any]
    ) -> None:
        link = await make_contact(survey_client, headers, email="link@example.com")
        mail = await make_contact(survey_client, headers, email="mail@example.com")
        now = utcnow()
        await schedule(survey_app, now, survey["id"], "link", link["id"], expires_in_days=1)
        await schedule(survey_app, now, survey["id"], "email", mail["id"], expires_in_days=3)
        assert await sender.expire_due(survey_app, now + dt.timedelta(hours=23)) == 0
        assert await sender.expire_due(survey_app, now + dt.timedelta(days=1)) == 1
        assert await sender.expire_due(survey_app, now + dt.timedelta(days=3)) == 1
        assert await sender.expire_due(survey_app, now + dt.timedelta(days=9)) == 0
        assert {i.status for i in await stored_invitations(survey_app)} == {"expired"}
        assert (await event_types(survey_app)).count("invitation.expired") == 2


class TestConcurrency:
    async def test_two_senders_send_every_invitation_exactly_once(
        self,
        survey_client: Client,
        survey_app: FastAPI,
        headers: dict[str, str],
        survey: dict[str, Any],
        smtp: SmtpServer,
        settings: SurveySettings,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # Small batches: the two senders claim many times, interleaved, and must never hold the same row.
        monkeypatch.setattr(delivery, "BATCH_SIZE", 10)
        monkeypatch.setattr(sender, "BATCH_SIZE", 10)
        items = [{"external_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(200)]
        bulk = await ok(await survey_client.post("/v1/contacts/bulk", json={"items": items}, headers=headers), 200)
        now = utcnow()
        await schedule(survey_app, now, survey["id"], "email", *[item["id"] for item in bulk["items"]])
        first, second = await asyncio.gather(
            sender.send_due(survey_app, settings, now), sender.send_due(survey_app, settings, now)
        )
        assert first + second == 200 and first > 0 and second > 0
        recipients = sorted(str(m["To"]) for m in smtp.messages)
        assert len(recipients) == 200 and len(set(recipients)) == 200
        stored = await stored_invitations(survey_app)
        assert {i.status for i in stored} == {"delivered"} and {i.attempts for i in stored} == {1}
        assert (await event_types(survey_app)).count("invitation.sent") == 200


class TestConfiguration:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("smtp://mail.example.com", ("mail.example.com", 25, None, None, False, None)),
            (
                "smtp://u%40x:p%3Aw@mail.example.com:587?starttls=true",
                ("mail.example.com", 587, "u@x", "p:w", False, True),
            ),
            ("smtp://mail.example.com:2525?starttls=false", ("mail.example.com", 2525, None, None, False, False)),
            ("smtps://u:p@mail.example.com", ("mail.example.com", 465, "u", "p", True, None)),
        ],
    )
    def test_smtp_urls(self, url: str, expected: tuple[Any, ...]) -> None:
        c = mailer.parse_smtp_url(url)
        assert (c.hostname, c.port, c.username, c.password, c.use_tls, c.start_tls) == expected

    @pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mail.example.com:25"])
    def test_other_urls_are_refused(self, url: str) -> None:
        with pytest.raises(ValueError, match="SURVEY_SMTP_URL"):
            mailer.parse_smtp_url(url)

    def test_production_refuses_a_guessable_token_key(self) -> None:
        asymmetric = {
            "env": "production",
            "jwt_algorithms": ["RS256"],
            "jwt_jwks_url": "https://idp.test/jwks",
            "service_jwt_secret": "a-service-key-only-this-deployment-knows-0123",
        }
        with pytest.raises(ValueError, match="SURVEY_TOKEN_SECRET"):
            SurveySettings(**asymmetric)
        own = SurveySettings(**asymmetric, token_secret="a-key-only-this-deployment-knows-0123456789")
        assert own.invitation_secret == "a-key-only-this-deployment-knows-0123456789"
        assert "a-key-only" not in repr(own)

    def test_tokens_are_derived_from_the_key_and_the_invitation(self) -> None:
        token = invitation_token("key-one", "inv_1")
        assert token == invitation_token("key-one", "inv_1") != invitation_token("key-two", "inv_1")
        assert token != invitation_token("key-one", "inv_2") and len(token) == 43
