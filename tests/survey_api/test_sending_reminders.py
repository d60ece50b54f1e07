"""Reminders: only to those who have not completed, not before `after_days`, at most `max_count` times."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.survey_api.outreach.invitations import advance
from services.survey_api.outreach.models import Invitation
from services.survey_api.outreach.reminders import send_reminders
from services.survey_api.outreach.sender import send_due
from services.survey_api.settings import SurveySettings
from shared.db import utcnow
from tests.conftest import TokenFactory
from tests.survey_api.distribution_helpers import WRITER, create_at, make_contact, settings_with, stored_invitations
from tests.survey_api.fakes import SmtpServer, smtp_server
from tests.survey_api.helpers import published_survey

Client = httpx.AsyncClient
DAY = dt.timedelta(days=1)
MINUTE = dt.timedelta(minutes=1)


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
def settings(survey_app: FastAPI, smtp: SmtpServer) -> SurveySettings:
    return settings_with(survey_app, smtp_url=smtp.url)


async def step(app: FastAPI, invitation_id: str, *statuses: str) -> None:
    """Advance an invitation as the respondent page would (opened, started, completed)."""
    async with app.state.db.sessions() as session, session.begin():
        invitation = await session.get(Invitation, invitation_id)
        assert invitation is not None
        for status in statuses:
            assert advance(session, invitation, status)


def reminders_to(smtp: SmtpServer, address: str) -> int:
    return sum(1 for m in smtp.to(address) if str(m["Subject"]).startswith(("Reminder", "Erinnerung")))


async def test_only_unanswered_not_before_after_days_at_most_max_count(
    survey_client: Client,
    survey_app: FastAPI,
    headers: dict[str, str],
    survey: dict[str, Any],
    smtp: SmtpServer,
    settings: SurveySettings,
) -> None:
    people = {
        name: await make_contact(
            survey_client, headers, email=f"{name}@example.com", locale="de" if name == "opened" else "en"
        )
        for name in ("answered", "opened", "silent", "leaving")
    }
    now = utcnow()
    created = await create_at(
        survey_app,
        now,
        survey_id=survey["id"],
        channel="email",
        contact_ids=[p["id"] for p in people.values()],
        reminder={"after_days": 3, "max_count": 2},
    )
    invitation = {name: outcome.invitation_id for name, outcome in zip(people, created.invitations, strict=True)}
    assert await send_due(survey_app, settings, now) == 4
    await step(survey_app, invitation["answered"], "opened", "started", "completed")
    await step(survey_app, invitation["opened"], "opened")
    await make_contact(survey_client, headers, email="leaving@example.com", unsubscribed=True)

    assert await send_reminders(survey_app, settings, now + 3 * DAY - MINUTE) == 0  # not before after_days
    assert await send_reminders(survey_app, settings, now + 3 * DAY + MINUTE) == 2
    assert await send_reminders(survey_app, settings, now + 3 * DAY + 2 * MINUTE) == 0  # not twice
    assert await send_reminders(survey_app, settings, now + 6 * DAY + 2 * MINUTE) == 2
    assert await send_reminders(survey_app, settings, now + 9 * DAY + 3 * MINUTE) == 0  # max_count reached
    assert await send_reminders(survey_app, settings, now + 20 * DAY) == 0

    assert [reminders_to(smtp, f"{name}@example.com") for name in people] == [0, 2, 2, 0]
    german = [m for m in smtp.to("opened@example.com") if str(m["Subject"]).startswith("Erinnerung")]
    assert german and created.invitations[1].url in german[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    stored = {i.id: i for i in await stored_invitations(survey_app)}
    silent = stored[invitation["silent"]]
    assert (silent.status, silent.reminders_sent, silent.next_attempt_at) == ("delivered", 2, None)
    assert silent.last_reminder_at == now + 6 * DAY + 2 * MINUTE
    assert stored[invitation["opened"]].status == "opened"  # a reminder changes no status
    assert (stored[invitation["answered"]].reminders_sent, stored[invitation["leaving"]].reminders_sent) == (0, 0)
    assert stored[invitation["leaving"]].next_attempt_at is None  # unsubscribed: reminders stop for good


async def test_a_failed_reminder_is_retried_and_none_is_due_after_expiry(
    survey_client: Client,
    survey_app: FastAPI,
    headers: dict[str, str],
    survey: dict[str, Any],
    smtp: SmtpServer,
    settings: SurveySettings,
) -> None:
    contact = await make_contact(survey_client, headers, email="busy@example.com")
    now = utcnow()
    await create_at(
        survey_app,
        now,
        survey_id=survey["id"],
        channel="email",
        contact_ids=[contact["id"]],
        reminder={"after_days": 3, "max_count": 5},
        expires_in_days=5,
    )
    assert await send_due(survey_app, settings, now) == 1
    smtp.refuse["busy@example.com"] = "452 4.2.2 mailbox full"
    first = now + 3 * DAY
    assert await send_reminders(survey_app, settings, first) == 0
    (waiting,) = await stored_invitations(survey_app)
    assert waiting.next_attempt_at == first + dt.timedelta(minutes=30) and "452" in (waiting.last_error or "")
    smtp.refuse.clear()
    assert await send_reminders(survey_app, settings, first + 31 * MINUTE) == 1
    (reminded,) = await stored_invitations(survey_app)
    # The next one would fall after the invitation expires (day 5): none is due.
    assert (reminded.reminders_sent, reminded.next_attempt_at, reminded.last_error) == (1, None, None)


async def test_channels_nobody_sends_are_never_reminded(
    survey_client: Client,
    survey_app: FastAPI,
    headers: dict[str, str],
    survey: dict[str, Any],
    smtp: SmtpServer,
    settings: SurveySettings,
) -> None:
    contact = await make_contact(survey_client, headers, email="link@example.com")
    now = utcnow()
    await create_at(
        survey_app,
        now,
        survey_id=survey["id"],
        channel="link",
        contact_ids=[contact["id"]],
        reminder={"after_days": 1, "max_count": 3},
    )
    assert await send_reminders(survey_app, settings, now + 10 * DAY) == 0
    assert smtp.messages == []
