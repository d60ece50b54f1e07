"""survey_api's outgoing webhooks and what each is owed."""

from __future__ import annotations

from services.survey_api.models.base import SurveyTable
from shared.webhooks.tables import WebhookDeliveryFields, WebhookFields


class Webhook(WebhookFields, SurveyTable, table=True):
    """A partner's subscription to survey_api's events."""

    __tablename__ = "webhooks"


class WebhookDelivery(WebhookDeliveryFields, SurveyTable, table=True):
    """One event owed to one webhook."""

    __tablename__ = "webhook_deliveries"
