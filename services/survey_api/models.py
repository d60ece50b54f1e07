"""survey_api's table base and the infrastructure tables every service has (outbox, idempotency, settings)."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import UniqueConstraint
from sqlmodel import SQLModel

from shared.db import new_registry
from shared.idempotency import IdempotencyRecordFields
from shared.org_settings import OrgSettingsFields
from shared.outbox import InboxFields, OutboxEventFields
from shared.ratelimit import RateLimitFields
from shared.webhooks.tables import WebhookAttemptFields, WebhookDeliveryFields, WebhookFields


class SurveyTable(SQLModel, registry=new_registry()):
    """The base of every survey_api table (its own metadata, its own migrations)."""


class OutboxEvent(OutboxEventFields, SurveyTable, table=True):
    """Events survey_api owes its subscribers (and its webhooks), written in the transaction of the change."""

    __tablename__ = "outbox"
    local_destinations: ClassVar[tuple[str, ...]] = ("webhooks",)


class InboxEvent(InboxFields, SurveyTable, table=True):
    """Ids of the events survey_api has processed: a repeated delivery is recognised and skipped."""

    __tablename__ = "inbox"


class IdempotencyRecord(IdempotencyRecordFields, SurveyTable, table=True):
    """Creating requests seen with an `Idempotency-Key`, and their first answers."""

    __tablename__ = "idempotency_keys"


class OrgSettingsRow(OrgSettingsFields, SurveyTable, table=True):
    """survey_api's per-org settings document."""

    __tablename__ = "org_settings"


class Webhook(WebhookFields, SurveyTable, table=True):
    """A partner's subscription to survey_api's events."""

    __tablename__ = "webhooks"


class WebhookDelivery(WebhookDeliveryFields, SurveyTable, table=True):
    """One event owed to one webhook (exactly one row per webhook and event, whatever crashed during fan-out)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "event_id"),)


class WebhookAttempt(WebhookAttemptFields, SurveyTable, table=True):
    """Every attempt to deliver a webhook delivery, with what the receiver answered."""

    __tablename__ = "webhook_attempts"


class RateLimitCounter(RateLimitFields, SurveyTable, table=True):
    """Requests per minute of the public routes, by client address and invitation token (shared by replicas)."""

    __tablename__ = "rate_limits"
