"""Wire models of distributions (a survey sent over a channel to contacts) and of their invitations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.survey_api.contacts.schemas import MAX_ATTRIBUTES, NO_NUL, AttributeValue, ContactUpsert
from shared.schemas.common import Instant, UnitPath

MAX_CONTACT_IDS = 10_000

DistributionChannel = Literal["link", "email", "sms", "web", "in_app"]
InvitationStatus = Literal[
    "scheduled", "sent", "delivered", "displayed", "opened", "started", "completed", "bounced", "expired", "suppressed"
]
SuppressionReason = Literal[
    "unknown_contact", "duplicate", "unsubscribed", "no_consent", "no_address", "contact_frequency", "sampled_out"
]
ContactId = Annotated[str, StringConstraints(min_length=1, max_length=40)]

REASONS_DESCRIPTION = (
    "Why a contact was not invited: `unknown_contact` (no live contact of yours with this id), `duplicate` "
    "(listed twice, or already holding an open invitation to this survey), `unsubscribed`, `no_consent` "
    "(consent for this channel explicitly false; missing consent counts as allowed), `no_address` (email "
    "without email, sms without phone), `contact_frequency` (invited within the last N days), `sampled_out`"
)


class Audience(BaseModel):
    """Which contacts: those in a unit subtree and/or with these exact attribute values (all must match)."""

    model_config = ConfigDict(extra="forbid")

    unit: UnitPath | None = Field(default=None, description="This unit and every unit below it")
    attributes: dict[str, AttributeValue] = Field(
        default_factory=dict, max_length=MAX_ATTRIBUTES, description="Exact values (`true` is not `1`)"
    )


class Reminder(BaseModel):
    """Re-send to those who have not completed, `after_days` after the last send, at most `max_count` times."""

    model_config = ConfigDict(extra="forbid")

    after_days: int = Field(ge=1, le=30)
    max_count: int = Field(ge=1, le=5)


class DistributionCreate(BaseModel):
    """A survey sent over one channel to listed contacts or to an audience, now or at `send_at`."""

    model_config = ConfigDict(extra="forbid")

    survey_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    channel: DistributionChannel
    contact_ids: list[ContactId] | None = Field(default=None, min_length=1, max_length=MAX_CONTACT_IDS)
    audience: Audience | None = None
    send_at: Instant | None = Field(
        default=None,
        description="With an offset; default now. Email and SMS wait for it; other channels are handed out at once",
    )
    reminder: Reminder | None = Field(default=None, description="Only email and sms are reminded")
    expires_in_days: int = Field(default=30, ge=1, le=365, description="Counted from `send_at`")

    @model_validator(mode="after")
    def _one_target(self) -> DistributionCreate:
        if (self.contact_ids is None) == (self.audience is None):
            raise ValueError("give exactly one of contact_ids and audience")
        return self


class InvitationOutcome(BaseModel):
    """What happened to one listed contact: `url` and `token` are shown here once, never again."""

    contact_id: str
    status: Literal["scheduled", "sent", "suppressed"] = Field(
        description="`sent` when handed out at creation (link, web, in_app); email and sms are `scheduled`"
    )
    invitation_id: str | None = None
    reason: SuppressionReason | None = Field(default=None, description=REASONS_DESCRIPTION)
    url: str | None = None
    token: str | None = None


class CreatedCounts(BaseModel):
    """How the targeted contacts split: one per listed entry."""

    scheduled: int = 0
    sent: int = 0
    suppressed: int = 0


class DistributionCreated(BaseModel):
    """The new distribution and each targeted contact's fate, in request order (audience: contact order)."""

    id: str
    survey_id: str
    channel: DistributionChannel
    send_at: dt.datetime
    reminder: Reminder | None
    expires_in_days: int
    created_at: dt.datetime
    counts: CreatedCounts
    invitations: list[InvitationOutcome]


class StatusCounts(BaseModel):
    """How many of a distribution's invitations are in each status now."""

    scheduled: int = 0
    sent: int = 0
    delivered: int = 0
    displayed: int = 0
    opened: int = 0
    started: int = 0
    completed: int = 0
    bounced: int = 0
    expired: int = 0
    suppressed: int = 0


class DistributionPublic(BaseModel):
    """A distribution as the API shows it, with its invitations counted by status."""

    id: str
    survey_id: str
    channel: DistributionChannel
    audience: dict[str, Any] = Field(description='The audience filter, or `{"contact_ids": <how many>}`')
    send_at: dt.datetime
    reminder: Reminder | None
    expires_in_days: int
    created_by: str
    created_at: dt.datetime
    counts: StatusCounts


class InvitationPublic(BaseModel):
    """One contact's invitation and what became of it (never its token)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    distribution_id: str | None
    survey_id: str
    contact_id: str | None
    channel: str
    status: InvitationStatus
    reason: SuppressionReason | None = Field(description=REASONS_DESCRIPTION)
    language: str | None
    interaction_id: str | None
    expires_at: dt.datetime | None
    attempts: int
    last_error: str | None
    reminders_sent: int
    last_reminder_at: dt.datetime | None
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    opened_at: dt.datetime | None
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    bounced_at: dt.datetime | None
    response_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


TriggerChannel = Literal["email", "sms", "link", "in_app"]


class TriggerCreate(BaseModel):
    """An interaction at a touchpoint: invite its contact to the touchpoint's active survey, in the moment."""

    model_config = ConfigDict(extra="forbid")

    interaction_id: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)] = Field(
        description="Your id of the interaction (order, ticket, call); a repeat answers the first result"
    )
    touchpoint_id: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    contact: ContactUpsert = Field(description="Upserted on its `external_id` first, as `POST /v1/contacts` does")
    occurred_at: Instant | None = Field(default=None, description="When the interaction happened")
    channel: TriggerChannel = "email"
    sampling_percent: float = Field(
        default=100, ge=0, le=100, description="Invite this share of interactions; decided by the interaction id"
    )


class TriggerResult(BaseModel):
    """The invitation a trigger created, or why none was: `url` and `token` come with the answer."""

    invitation_id: str
    interaction_id: str
    survey_id: str
    contact_id: str | None
    channel: TriggerChannel
    status: Literal["scheduled", "sent", "suppressed"]
    reason: SuppressionReason | None = Field(default=None, description=REASONS_DESCRIPTION)
    url: str | None = None
    token: str | None = None
    expires_at: dt.datetime | None = None
    created_at: dt.datetime
