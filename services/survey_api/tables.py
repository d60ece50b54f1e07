"""Every survey_api table: importing this module registers them all on `SurveyTable.metadata` (for Alembic)."""

from services.survey_api.catalog.models import Survey, SurveyVersion, Touchpoint, Unit
from services.survey_api.contacts.models import Contact, Outcome
from services.survey_api.models import (
    IdempotencyRecord,
    InboxEvent,
    OrgSettingsRow,
    OutboxEvent,
    RateLimitCounter,
    SurveyTable,
    Webhook,
    WebhookDelivery,
)
from services.survey_api.outreach.models import Distribution, Invitation
from services.survey_api.responses.models import SurveyResponse

__all__ = [
    "Contact",
    "Distribution",
    "IdempotencyRecord",
    "InboxEvent",
    "Invitation",
    "OrgSettingsRow",
    "OutboxEvent",
    "Outcome",
    "RateLimitCounter",
    "Survey",
    "SurveyResponse",
    "SurveyTable",
    "SurveyVersion",
    "Touchpoint",
    "Unit",
    "Webhook",
    "WebhookDelivery",
]
