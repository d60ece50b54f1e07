"""Notifications as `GET /v1/notifications` shows them: to whom, what, and where their delivery stands."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

Kind = Literal["case_assigned", "case_opened", "case_at_risk", "case_breached", "digest"]
Status = Literal["pending", "sent", "failed", "queued", "digested", "skipped"]
Delivery = Literal["immediate", "digest"]


class NotificationPublic(BaseModel):
    """One email owed to a person, and its delivery: `pending` → `sent` | `failed`; digest items `queued` →
    `digested` (into `digest_id`); `skipped` was never sent."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    recipient: str
    email: str
    kind: Kind
    case_id: str | None
    unit: str | None
    subject: str
    data: dict[str, Any]
    delivery: Delivery
    status: Status
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    digest_id: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
