"""Distributions: a survey sent over one channel to listed contacts or an audience; their invitations.

Creating one accounts for every listed entry exactly once, in order: invited, or suppressed with a reason
(see `schemas.distributions.REASONS_DESCRIPTION`). Each chunk of 1000 takes a constant number of queries:
its contacts, which of them were invited recently, which hold an open invitation to the survey, then the
inserts. Suppressed invitations of known contacts are stored with their reason; an unknown id or a repeat
within the request has no contact row to hang an invitation on, so it is reported in the answer only.

There is no `Idempotency-Key` here, on purpose: a replay would have to store the answer, tokens included.
A retried request is harmless anyway: everyone it invited already holds an open invitation, so the retry
reports them as `duplicate` and invites nobody twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey
from services.survey_api.catalog.surveys import answerable_version
from services.survey_api.outreach.audience import Target, audience_targets, listed_targets
from services.survey_api.outreach.eligibility import invitation_reason
from services.survey_api.outreach.frequency import frequency_days, open_invitations, recently_surveyed
from services.survey_api.outreach.invitations import advance
from services.survey_api.outreach.issuing import Issue, created_status, hand_out, new_invitation
from services.survey_api.outreach.links import links_for
from services.survey_api.outreach.models import Distribution, Invitation
from services.survey_api.outreach.schemas import (
    CreatedCounts,
    DistributionCreate,
    DistributionCreated,
    DistributionPublic,
    InvitationOutcome,
    Reminder,
    StatusCounts,
)
from services.survey_api.settings import SurveySettings
from shared.auth import Principal
from shared.db import in_subtrees, utcnow
from shared.errors import Conflict, NotFound
from shared.ids import new_id
from shared.pagination import keyset, page_of

DISPLAYABLE = frozenset({"web", "in_app"})


def _targets(session: AsyncSession, principal: Principal, data: DistributionCreate) -> AsyncIterator[list[Target]]:
    if data.contact_ids is not None:
        return listed_targets(session, principal, data.contact_ids)
    assert data.audience is not None
    return audience_targets(session, principal, data.audience)


async def _invite_chunk(session: AsyncSession, issue: Issue, days: int, chunk: list[Target]) -> list[InvitationOutcome]:
    """Decide and store one chunk (three reads, then the inserts at the next flush)."""
    ids = {t.contact.id for t in chunk if t.contact is not None and not t.repeated}
    org, now = issue.survey.org, issue.now
    recent = await recently_surveyed(session, org=org, contact_ids=ids, days=days, now=now)
    already = await open_invitations(session, org=org, survey_id=issue.survey.id, contact_ids=ids, now=now)
    outcomes = []
    for target in chunk:
        reason = invitation_reason(
            target.contact, issue.channel, repeated=target.repeated, open_for_survey=already, recent=recent
        )
        if target.contact is None or target.repeated:
            outcome = {"contact_id": target.contact_id, "status": "suppressed", "reason": reason}
            outcomes.append(InvitationOutcome.model_validate(outcome))
            continue
        invitation = new_invitation(issue, target.contact, reason=reason)
        session.add(invitation)
        hand_out(session, issue, invitation)
        outcomes.append(outcome_of(issue.settings, invitation))
    return outcomes


def outcome_of(settings: SurveySettings, invitation: Invitation) -> InvitationOutcome:
    """What creating this invitation did, with its link unless suppressed."""
    status = created_status(invitation)
    links = links_for(settings, invitation.id) if status != "suppressed" else None
    return InvitationOutcome.model_validate(
        {
            "contact_id": invitation.contact_id,
            "status": status,
            "invitation_id": invitation.id,
            "reason": invitation.reason,
            "url": links.url if links else None,
            "token": links.token if links else None,
        }
    )


def _new_distribution(principal: Principal, data: DistributionCreate, now: dt.datetime) -> Distribution:
    """The distribution row; a `send_at` in the past means now."""
    audience = data.audience.model_dump(mode="json") if data.audience else {"contact_ids": len(data.contact_ids or ())}
    return Distribution(
        id=new_id("dist"),
        org=principal.org,
        survey_id=data.survey_id,
        channel=data.channel,
        audience=audience,
        send_at=max(data.send_at or now, now).astimezone(dt.UTC),
        reminder=data.reminder.model_dump() if data.reminder else None,
        expires_in_days=data.expires_in_days,
        created_by=principal.sub,
        created_at=now,
    )


async def create_distribution(
    *,
    session: AsyncSession,
    principal: Principal,
    settings: SurveySettings,
    data: DistributionCreate,
    now: dt.datetime | None = None,
) -> DistributionCreated:
    """Create a distribution of an active survey and an invitation (or suppression) per targeted contact."""
    now = now or utcnow()
    survey, version = await answerable_version(session=session, org=principal.org, survey_id=data.survey_id)
    distribution = _new_distribution(principal, data, now)
    session.add(distribution)
    await session.flush()
    send_at = distribution.send_at
    expires_at = send_at + dt.timedelta(days=data.expires_in_days)
    issue = Issue(settings, survey, version, data.channel, send_at, expires_at, now, distribution.id)
    days = await frequency_days(session, survey)
    outcomes: list[InvitationOutcome] = []
    async for chunk in _targets(session, principal, data):
        outcomes += await _invite_chunk(session, issue, days, chunk)
    await session.flush()
    counts = CreatedCounts()
    for outcome in outcomes:
        setattr(counts, outcome.status, getattr(counts, outcome.status) + 1)
    return DistributionCreated(
        **_fields(distribution), created_at=distribution.created_at, counts=counts, invitations=outcomes
    )


def _fields(distribution: Distribution) -> dict[str, Any]:
    return {
        "id": distribution.id,
        "survey_id": distribution.survey_id,
        "channel": distribution.channel,
        "send_at": distribution.send_at,
        "reminder": Reminder.model_validate(distribution.reminder) if distribution.reminder else None,
        "expires_in_days": distribution.expires_in_days,
    }


def _mine(principal: Principal) -> list[ColumnElement[bool]]:
    """The invitations of the caller's org and (when restricted) units."""
    conditions = [col(Invitation.org) == principal.org]
    if principal.units is not None:
        conditions.append(in_subtrees(col(Invitation.unit), principal.units))
    return conditions


async def _distribution(session: AsyncSession, principal: Principal, distribution_id: str) -> Distribution:
    distribution = await session.get(Distribution, distribution_id)
    if distribution is None or distribution.org != principal.org:
        raise NotFound(f"No distribution {distribution_id!r}")
    return distribution


async def get_distribution(*, session: AsyncSession, principal: Principal, distribution_id: str) -> DistributionPublic:
    """One distribution of the caller's org, its invitations counted by status (within the caller's units)."""
    distribution = await _distribution(session, principal, distribution_id)
    statement = select(Invitation.status, func.count()).where(
        col(Invitation.distribution_id) == distribution.id, *_mine(principal)
    )
    rows = await session.exec(statement.group_by(col(Invitation.status)))
    counts = StatusCounts.model_validate(dict(rows.all()))
    return DistributionPublic(
        **_fields(distribution),
        audience=distribution.audience,
        created_by=distribution.created_by,
        created_at=distribution.created_at,
        counts=counts,
    )


async def list_distributions(
    *, session: AsyncSession, principal: Principal, survey_id: str | None, limit: int, cursor: str | None
) -> tuple[list[DistributionPublic], str | None]:
    """A page of the org's distributions in creation order (optionally of one survey), with their counts."""
    statement = select(Distribution).where(Distribution.org == principal.org)
    if survey_id is not None:
        statement = statement.where(Distribution.survey_id == survey_id)
    rows = (await session.exec(keyset(statement, col(Distribution.id), limit=limit, cursor=cursor))).all()
    page, next_cursor = page_of(rows, limit=limit, key_of=lambda d: d.id)
    counted = select(Invitation.distribution_id, Invitation.status, func.count()).where(
        col(Invitation.distribution_id).in_([d.id for d in page]), *_mine(principal)
    )
    grouped = await session.exec(counted.group_by(col(Invitation.distribution_id), col(Invitation.status)))
    counts: dict[str | None, dict[str, int]] = {}
    for distribution_id, status, count in grouped.all():
        counts.setdefault(distribution_id, {})[status] = count
    items = [
        DistributionPublic(
            **_fields(d),
            audience=d.audience,
            created_by=d.created_by,
            created_at=d.created_at,
            counts=StatusCounts.model_validate(counts.get(d.id, {})),
        )
        for d in page
    ]
    return items, next_cursor


async def list_invitations(
    *, session: AsyncSession, principal: Principal, distribution_id: str, limit: int, cursor: str | None
) -> tuple[list[Invitation], str | None]:
    """A page of a distribution's invitations in creation order (within the caller's units)."""
    distribution = await _distribution(session, principal, distribution_id)
    statement = select(Invitation).where(Invitation.distribution_id == distribution.id, *_mine(principal))
    rows = (await session.exec(keyset(statement, col(Invitation.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda invitation: invitation.id)


async def display_invitation(
    *, session: AsyncSession, principal: Principal, invitation_id: str, now: dt.datetime | None = None
) -> Invitation:
    """Record that a web or in-app invitation was shown (`displayed`, so delivered); a repeat changes nothing."""
    now = now or utcnow()
    invitation = (
        await session.exec(select(Invitation).where(Invitation.id == invitation_id, *_mine(principal)))
    ).first()
    if invitation is None:
        raise NotFound(f"No invitation {invitation_id!r}")
    if invitation.channel not in DISPLAYABLE:
        raise Conflict(f"Only web and in_app invitations are displayed; this one is {invitation.channel}")
    if invitation.status in ("displayed", "opened", "started", "completed"):
        return invitation
    if invitation.status != "sent":
        raise Conflict(f"This invitation is {invitation.status} and can no longer be displayed")
    if invitation.expires_at is not None and invitation.expires_at <= now:
        raise Conflict("This invitation has expired and can no longer be displayed")
    survey = await session.get(Survey, invitation.survey_id)
    advance(session, invitation, "displayed", survey=survey, now=now)
    await session.flush()
    return invitation
