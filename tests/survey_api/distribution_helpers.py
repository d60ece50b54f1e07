"""Builders for distribution, sending and trigger tests: contacts, distributions, direct database reads."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlmodel import col, select

from services.survey_api.models import OutboxEvent
from services.survey_api.outreach.distributions import create_distribution
from services.survey_api.outreach.models import Invitation
from services.survey_api.outreach.schemas import DistributionCreate, DistributionCreated
from services.survey_api.settings import SurveySettings
from shared.auth import Principal
from tests.survey_api.helpers import ALL, ok

SCOPES = ALL["scopes"] + " distributions:write"
WRITER = {"scopes": SCOPES}


async def make_contact(client: httpx.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    """Upsert one contact (`external_id` defaults to its email or phone)."""
    body = {"external_id": fields.get("email") or fields.get("phone") or "someone", **fields}
    return await ok(await client.post("/v1/contacts", json=body, headers=headers), 200, 201)


async def distribute(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    """Create a distribution; its 201 answer."""
    return await ok(await client.post("/v1/distributions", json=body, headers=headers))


def settings_with(app: FastAPI, *, smtp_url: str | None = None, sms_url: str | None = None) -> SurveySettings:
    """The app's settings with these transports."""
    settings: SurveySettings = app.state.settings
    return settings.model_copy(
        update={
            "smtp_url": SecretStr(smtp_url) if smtp_url else None,
            "mail_from": "Acme Feedback <feedback@acme.test>",
            "sms_url": sms_url,
            "sms_user": "acme",
            "sms_password": SecretStr("sms-secret"),
            "sms_from": "ACME",
        }
    )


async def create_at(app: FastAPI, now: dt.datetime, org: str = "acme", **body: Any) -> DistributionCreated:
    """Create a distribution as if it were `now` (the domain function, in its own transaction)."""
    principal = Principal(sub="tester", org=org, scopes=frozenset(SCOPES.split()))
    async with app.state.db.sessions() as session, session.begin():
        return await create_distribution(
            session=session,
            principal=principal,
            settings=app.state.settings,
            data=DistributionCreate.model_validate(body),
            now=now,
        )


async def stored_invitations(app: FastAPI, **where: Any) -> list[Invitation]:
    """The stored invitations (optionally filtered by column values), in creation order."""
    statement = select(Invitation).order_by(col(Invitation.id))
    for name, value in where.items():
        statement = statement.where(col(getattr(Invitation, name)) == value)
    async with app.state.db.sessions() as session:
        return list((await session.exec(statement)).all())


async def event_types(app: FastAPI, invitation_id: str | None = None) -> list[str]:
    """The `invitation.*` events in the outbox, oldest first (of one invitation, when given)."""
    async with app.state.db.sessions() as session:
        rows = (await session.exec(select(OutboxEvent).order_by(col(OutboxEvent.occurred_at)))).all()
    return [
        row.event_type
        for row in rows
        if row.event_type.startswith("invitation.")
        and (invitation_id is None or row.payload["data"]["invitation_id"] == invitation_id)
    ]


async def update_invitation(app: FastAPI, invitation_id: str, **values: Any) -> None:
    """Change stored columns of an invitation (to stage a state the test needs)."""
    async with app.state.db.sessions() as session, session.begin():
        invitation = await session.get(Invitation, invitation_id)
        assert invitation is not None
        invitation.sqlmodel_update(values)
        session.add(invitation)
