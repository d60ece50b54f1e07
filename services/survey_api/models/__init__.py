"""survey_api's tables; no other service imports them. Importing this package registers them all."""

from services.survey_api.models.base import (
    IdempotencyRecord,
    InboxEvent,
    OrgSettingsRow,
    OutboxEvent,
    RateLimitCounter,
    SurveyTable,
)
from services.survey_api.models.contacts import Contact
from services.survey_api.models.invitations import Distribution, Invitation
from services.survey_api.models.responses import Response
from services.survey_api.models.surveys import Survey, SurveyVersion, Touchpoint
from services.survey_api.models.units import Unit
from services.survey_api.models.webhooks import Webhook, WebhookDelivery

__all__ = [
    "Contact",
    "Distribution",
    "IdempotencyRecord",
    "InboxEvent",
    "Invitation",
    "OrgSettingsRow",
    "OutboxEvent",
    "RateLimitCounter",
    "Response",
    "Survey",
    "SurveyTable",
    "SurveyVersion",
    "Touchpoint",
    "Unit",
    "Webhook",
    "WebhookDelivery",
]
