"""What the sender and the reminder pass share: the transports, the claim, the batch's context, the messages.

A claim is one `UPDATE invitations … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n) RETURNING *`
(the outbox dispatcher's pattern) that pushes `next_attempt_at` a lease into the future: two senders on
PostgreSQL never hold the same invitation, and on SQLite the single writer makes the statement atomic.
A crashed sender's invitations come back when the lease ends; a batch stops starting messages once half
its lease is used, and hands the rest back, so a slow server cannot make a lease run out mid-batch.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy import ColumnElement, and_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey, SurveyVersion
from services.survey_api.catalog.surveys import respondent_title
from services.survey_api.contacts.models import Contact
from services.survey_api.outreach.invitations import hash_token
from services.survey_api.outreach.links import Links, links_for
from services.survey_api.outreach.mailer import Email, Mailer
from services.survey_api.outreach.models import Distribution, Invitation
from services.survey_api.outreach.sms import Sms, SmsClient, sms_body
from services.survey_api.outreach.transport import InTime, Outcome
from services.survey_api.settings import SurveySettings
from shared.db import Database, claim_statement

BATCH_SIZE = 100
LEASE = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Transports:
    """The configured ways to send: email over SMTP, SMS over the HTTP provider (either may be absent)."""

    mailer: Mailer | None
    sms: SmsClient | None

    @classmethod
    def from_settings(cls, settings: SurveySettings) -> Transports:
        """The transports the settings configure; a channel without one is left scheduled, never claimed."""
        mailer = Mailer(settings.smtp_url.get_secret_value(), settings.mail_from) if settings.smtp_url else None
        sms = None
        if settings.sms_url:
            password = settings.sms_password.get_secret_value() if settings.sms_password else None
            sms = SmsClient(settings.sms_url, user=settings.sms_user, password=password, sender=settings.sms_from)
        return cls(mailer, sms)

    @property
    def channels(self) -> list[str]:
        """The channels these transports send."""
        return [name for name, transport in (("email", self.mailer), ("sms", self.sms)) if transport is not None]

    async def send(self, messages: dict[str, Email | Sms], in_time: InTime) -> dict[str, Outcome]:
        """Each message's outcome by invitation id; those left out were not tried."""
        emails = {k: m for k, m in messages.items() if isinstance(m, Email)}
        texts = {k: m for k, m in messages.items() if isinstance(m, Sms)}
        outcomes: dict[str, Outcome] = {}
        if emails and self.mailer is not None:
            outcomes |= await self.mailer.send(emails, in_time)
        if texts and self.sms is not None:
            outcomes |= await self.sms.send(texts, in_time)
        return outcomes


def database_of(app_or_db: FastAPI | Database) -> Database:
    """The database of an app, or the database itself."""
    if isinstance(app_or_db, Database):
        return app_or_db
    database: Database = app_or_db.state.db
    return database


def lease_clock(lease: dt.timedelta = LEASE) -> InTime:
    """True until half of a lease taken now is used up."""
    deadline = time.monotonic() + lease.total_seconds() / 2
    return lambda: time.monotonic() < deadline


async def claim(db: Database, where: Sequence[ColumnElement[bool]], *, values: dict[str, Any]) -> list[Invitation]:
    """Take up to a batch of matching invitations for this process, setting `values` (a lease) on them."""
    statement = claim_statement(
        Invitation,
        where=where,
        values=values,
        limit=BATCH_SIZE,
        order_by=[col(Invitation.next_attempt_at), col(Invitation.id)],
        skip_locked=db.is_postgres,
    )
    async with db.sessions() as session, session.begin():
        result = await session.exec(statement)  # type: ignore[call-overload]
        claimed: list[Invitation] = list(result.scalars().all())
    return sorted(claimed, key=lambda i: i.id)  # RETURNING has no order; send in creation order


async def locked(session: AsyncSession, ids: Iterable[str]) -> list[Invitation]:
    """These invitations read fresh, their rows locked (PostgreSQL) or the write lock held (SQLite) first."""
    wanted = list(ids)
    if not wanted:
        return []
    touch = update(Invitation).where(col(Invitation.id).in_(wanted)).values(updated_at=col(Invitation.updated_at))
    await session.exec(touch.execution_options(synchronize_session=False))  # type: ignore[call-overload]
    rows = await session.exec(
        select(Invitation).where(col(Invitation.id).in_(wanted)).execution_options(populate_existing=True)
    )
    return list(rows.all())


@dataclass
class Context:
    """What a batch needs besides its invitations: their contacts, surveys (with published version), distributions."""

    contacts: dict[str, Contact]
    surveys: dict[str, tuple[Survey, SurveyVersion | None]]
    distributions: dict[str, Distribution]
    link_hashes: dict[str, str] = field(default_factory=dict)  # by invitation: the hash of the link it was sent

    def message(
        self,
        settings: SurveySettings,
        invitation: Invitation,
        contact: Contact,
        version: SurveyVersion,
        *,
        reminder: bool,
    ) -> Email | Sms:
        """The email or SMS of an invitation; remembers the hash of the link it carries."""
        links = links_for(settings, invitation.id)
        self.link_hashes[invitation.id] = hash_token(links.token)
        return message_for(invitation, contact, version, links, reminder=reminder)

    def rekey(self, invitation: Invitation) -> None:
        """Store the hash of the link just sent: after a change of key, the newest link is the one that opens."""
        invitation.token_hash = self.link_hashes.get(invitation.id, invitation.token_hash)

    def survey(self, invitation: Invitation) -> Survey | None:
        """The invitation's survey (its working copy), if it still exists."""
        found = self.surveys.get(invitation.survey_id)
        return found[0] if found else None


async def load_context(session: AsyncSession, invitations: Sequence[Invitation]) -> Context:
    """The contacts, surveys and distributions of a batch: three queries."""
    contact_ids = {i.contact_id for i in invitations if i.contact_id}
    survey_ids = {i.survey_id for i in invitations}
    distribution_ids = {i.distribution_id for i in invitations if i.distribution_id}
    contacts = (await session.exec(select(Contact).where(col(Contact.id).in_(contact_ids)))).all()
    published = and_(
        col(SurveyVersion.survey_id) == col(Survey.id), col(SurveyVersion.version) == col(Survey.published_version)
    )
    surveys = (
        await session.exec(
            select(Survey, SurveyVersion).outerjoin(SurveyVersion, published).where(col(Survey.id).in_(survey_ids))
        )
    ).all()
    distributions = (await session.exec(select(Distribution).where(col(Distribution.id).in_(distribution_ids)))).all()
    return Context(
        contacts={c.id: c for c in contacts},
        surveys={s.id: (s, v) for s, v in surveys},
        distributions={d.id: d for d in distributions},
    )


def message_for(
    invitation: Invitation, contact: Contact, version: SurveyVersion, links: Links, *, reminder: bool
) -> Email | Sms:
    """The email or SMS of an invitation (checked sendable: the contact has the address), titled for its reader."""
    title = respondent_title(version, invitation.language)
    if invitation.channel == "email":
        assert contact.email is not None
        return Email(
            to=contact.email,
            name=contact.name,
            survey=title,
            language=invitation.language,
            fallback_language=version.default_language,
            links=links,
            reminder=reminder,
        )
    assert contact.phone is not None
    body = sms_body(
        survey=title,
        url=links.url,
        language=invitation.language,
        fallback=version.default_language,
        reminder=reminder,
    )
    return Sms(to=contact.phone, body=body)


def next_reminder_at(
    distribution: Distribution | None, sent_at: dt.datetime, expires_at: dt.datetime | None
) -> dt.datetime | None:
    """When the next reminder of an invitation sent (or reminded) at `sent_at` is due; None when none is."""
    if distribution is None or not distribution.reminder:
        return None
    due = sent_at + dt.timedelta(days=int(distribution.reminder["after_days"]))
    return due if expires_at is None or due < expires_at else None
