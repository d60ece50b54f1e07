"""Wire models of triggers: an interaction that just happened, and the in-the-moment invitation it gave."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.survey_api.schemas.contacts import NO_NUL, ContactUpsert
from services.survey_api.schemas.distributions import REASONS_DESCRIPTION, SuppressionReason
from shared.schemas.common import Instant

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
