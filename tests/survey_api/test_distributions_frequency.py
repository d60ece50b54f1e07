"""The contact-frequency rule: one invitation per contact per N days across all surveys; override; 0 = off."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.db import utcnow
from tests.conftest import TokenFactory
from tests.survey_api.distribution_helpers import WRITER, create_at, make_contact
from tests.survey_api.helpers import NPS_PLUS, ok

Client = httpx.AsyncClient


@pytest.fixture
def headers(auth: TokenFactory) -> dict[str, str]:
    return auth(**WRITER)


async def active(client: Client, headers: dict[str, str], name: str, **overrides: Any) -> str:
    created = await ok(await client.post("/v1/surveys", json={**NPS_PLUS, "name": name, **overrides}, headers=headers))
    await ok(await client.post(f"/v1/surveys/{created['id']}/publish", headers=headers), 200)
    survey_id: str = created["id"]
    return survey_id


async def fate(app: FastAPI, now: dt.datetime, survey_id: str, contact_id: str) -> tuple[str, str | None]:
    created = await create_at(app, now, survey_id=survey_id, channel="email", contact_ids=[contact_id])
    (outcome,) = created.invitations
    return outcome.status, outcome.reason


async def test_a_second_survey_within_n_days_is_suppressed_and_sent_after(
    survey_client: Client, survey_app: FastAPI, headers: dict[str, str]
) -> None:
    first, second, third = [await active(survey_client, headers, name) for name in ("One", "Two", "Three")]
    contact = (await make_contact(survey_client, headers, email="c@example.com"))["id"]
    now = utcnow()
    assert await fate(survey_app, now, first, contact) == ("scheduled", None)
    assert await fate(survey_app, now + dt.timedelta(days=29), second, contact) == ("suppressed", "contact_frequency")
    # A suppressed invitation does not count: 30 days after the first one, the contact may be asked again.
    assert await fate(survey_app, now + dt.timedelta(days=30, minutes=1), second, contact) == ("scheduled", None)
    assert await fate(survey_app, now + dt.timedelta(days=31), third, contact) == ("suppressed", "contact_frequency")


async def test_the_surveys_override_wins_over_the_org_setting(
    survey_client: Client, survey_app: FastAPI, headers: dict[str, str]
) -> None:
    first = await active(survey_client, headers, "One")
    short = await active(survey_client, headers, "Short", contact_frequency_days=5)
    unlimited = await active(survey_client, headers, "Unlimited", contact_frequency_days=0)
    contact = (await make_contact(survey_client, headers, email="c@example.com"))["id"]
    now = utcnow()
    assert await fate(survey_app, now, first, contact) == ("scheduled", None)
    assert await fate(survey_app, now + dt.timedelta(minutes=1), unlimited, contact) == ("scheduled", None)
    assert await fate(survey_app, now + dt.timedelta(days=4), short, contact) == ("suppressed", "contact_frequency")
    assert await fate(survey_app, now + dt.timedelta(days=5, minutes=2), short, contact) == ("scheduled", None)


async def test_zero_in_the_org_settings_turns_the_rule_off(
    survey_client: Client, survey_app: FastAPI, auth: TokenFactory, headers: dict[str, str]
) -> None:
    admin = auth(scopes="admin")
    await ok(await survey_client.put("/v1/org-settings", json={"contact_frequency_days": 0}, headers=admin), 200)
    first, second = await active(survey_client, headers, "One"), await active(survey_client, headers, "Two")
    contact = (await make_contact(survey_client, headers, email="c@example.com"))["id"]
    now = utcnow()
    assert await fate(survey_app, now, first, contact) == ("scheduled", None)
    assert await fate(survey_app, now, second, contact) == ("scheduled", None)
    # …but the same survey still reaches a contact only once while its invitation is open.
    assert await fate(survey_app, now, second, contact) == ("suppressed", "duplicate")


async def test_the_rule_is_per_org(survey_client: Client, survey_app: FastAPI, auth: TokenFactory) -> None:
    acme, globex = auth(**WRITER), auth(org="globex", **WRITER)
    acme_survey, globex_survey = await active(survey_client, acme, "One"), await active(survey_client, globex, "One")
    acme_contact = (await make_contact(survey_client, acme, email="c@example.com"))["id"]
    globex_contact = (await make_contact(survey_client, globex, email="c@example.com"))["id"]
    now = utcnow()
    assert await fate(survey_app, now, acme_survey, acme_contact) == ("scheduled", None)
    created = await create_at(
        survey_app, now, org="globex", survey_id=globex_survey, channel="email", contact_ids=[globex_contact]
    )
    assert created.invitations[0].status == "scheduled"


async def answered_through_a_partner(
    client: Client, headers: dict[str, str], survey_id: str, external_id: str, submitted_at: dt.datetime
) -> None:
    body = {
        "survey_id": survey_id,
        "external_id": f"order-{submitted_at:%Y%m%d}",
        "channel": "web",
        "contact": {"external_id": external_id},
        "answers": {"nps": 9},
        "submitted_at": submitted_at.isoformat(),
    }
    await ok(await client.post("/v1/responses", json=body, headers=headers))


async def test_a_partner_response_older_than_the_rule_blocks_nobody(
    survey_client: Client, survey_app: FastAPI, headers: dict[str, str]
) -> None:
    answered, invited = await active(survey_client, headers, "Partner"), await active(survey_client, headers, "Next")
    contact = (await make_contact(survey_client, headers, email="c@example.com"))["id"]
    now = utcnow()
    # Answered 40 days ago (a backdated import): older than the 30-day rule, blocks nothing.
    await answered_through_a_partner(survey_client, headers, answered, "c@example.com", now - dt.timedelta(days=40))
    assert await fate(survey_app, now, invited, contact) == ("scheduled", None)


async def test_a_recent_partner_response_suppresses_the_next_invitation(
    survey_client: Client, survey_app: FastAPI, headers: dict[str, str]
) -> None:
    answered, invited = await active(survey_client, headers, "Partner"), await active(survey_client, headers, "Next")
    contact = (await make_contact(survey_client, headers, email="c@example.com"))["id"]
    now = utcnow()
    await answered_through_a_partner(survey_client, headers, answered, "c@example.com", now - dt.timedelta(days=1))
    assert await fate(survey_app, now, invited, contact) == ("suppressed", "contact_frequency")
    # 30 days after the answer, the contact may be asked again.
    assert await fate(survey_app, now + dt.timedelta(days=29, minutes=1), invited, contact) == ("scheduled", None)
