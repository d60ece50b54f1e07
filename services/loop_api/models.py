"""loop_api's tables (no other service imports them): those every service has, and each domain's, for Alembic."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import UniqueConstraint

from services.loop_api.base import LoopTable
from services.loop_api.cases.models import Case, CaseEvent
from services.loop_api.notifications.models import Notification
from services.loop_api.people.models import Person
from services.loop_api.plans.models import ActionPlan, ActionPlanUnit, PlanEvent, PlanTask
from services.loop_api.root_causes.models import RootCause
from services.loop_api.rules.models import Rule
from services.loop_api.teams.models import EscalationMap, Team
from shared.idempotency import IdempotencyRecordFields
from shared.org_settings import OrgSettingsFields
from shared.outbox import InboxFields, OutboxEventFields
from shared.webhooks.tables import WebhookAttemptFields, WebhookDeliveryFields, WebhookFields

__all__ = [
    "ActionPlan",
    "ActionPlanUnit",
    "Case",
    "CaseEvent",
    "EscalationMap",
    "IdempotencyRecord",
    "InboxEvent",
    "LoopTable",
    "Notification",
    "OrgSettingsRow",
    "OutboxEvent",
    "Person",
    "PlanEvent",
    "PlanTask",
    "RootCause",
    "Rule",
    "Team",
    "Webhook",
    "WebhookDelivery",
]


class OutboxEvent(OutboxEventFields, LoopTable, table=True):
    """Events loop_api owes its subscribers (and its webhooks), written in the transaction of the change."""

    __tablename__ = "outbox"
    local_destinations: ClassVar[tuple[str, ...]] = ("webhooks",)


class Webhook(WebhookFields, LoopTable, table=True):
    """A partner's subscription to loop_api's events (cases opened, breached, closed …)."""

    __tablename__ = "webhooks"


class WebhookDelivery(WebhookDeliveryFields, LoopTable, table=True):
    """One event owed to one webhook (exactly one row per webhook and event, whatever crashed during fan-out)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("webhook_id", "event_id"),)


class WebhookAttempt(WebhookAttemptFields, LoopTable, table=True):
    """Every attempt to deliver a webhook delivery, with what the receiver answered."""

    __tablename__ = "webhook_attempts"


class InboxEvent(InboxFields, LoopTable, table=True):
    """Ids of the events loop_api has processed: a repeated delivery is recognised and skipped."""

    __tablename__ = "inbox"


class IdempotencyRecord(IdempotencyRecordFields, LoopTable, table=True):
    """Creating requests seen with an `Idempotency-Key`, and their first answers."""

    __tablename__ = "idempotency_keys"


class OrgSettingsRow(OrgSettingsFields, LoopTable, table=True):
    """loop_api's per-org settings document."""

    __tablename__ = "org_settings"
