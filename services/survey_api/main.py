"""survey_api — listen: surveys, contacts, distributions, invitations and responses (port 8001)."""

from __future__ import annotations

from fastapi import FastAPI

from services.survey_api.catalog import routes as catalog
from services.survey_api.catalog.purpose import check_org_settings
from services.survey_api.contacts import outcome_routes as outcomes
from services.survey_api.contacts import routes as contacts
from services.survey_api.gauges import invitation_gauges
from services.survey_api.models import (
    IdempotencyRecord,
    InboxEvent,
    OrgSettingsRow,
    OutboxEvent,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from services.survey_api.org_settings import SurveyOrgSettings
from services.survey_api.outreach import routes as outreach
from services.survey_api.outreach.followups import event_handlers
from services.survey_api.outreach.sender import run_sender
from services.survey_api.respondent import routes as respondent
from services.survey_api.responses import routes as responses
from services.survey_api.settings import SurveySettings, get_settings
from shared.app import EventConsumer, ServiceSpec, create_service_app
from shared.webhooks.tables import WebhookTables


def create_app(settings: SurveySettings | None = None) -> FastAPI:
    """Build the survey_api app (settings from the environment unless given)."""
    settings = settings or get_settings()
    spec = ServiceSpec(
        title="cxloop survey_api",
        description="Listen: NPS / CSAT / CES surveys, contacts, distributions and responses.",
        source="survey",
        routers=[
            catalog.router,
            contacts.router,
            outcomes.router,
            responses.router,
            outreach.router,
            respondent.router,
        ],
        idempotency_table=IdempotencyRecord,
        org_settings_table=OrgSettingsRow,
        outbox_table=OutboxEvent,
        webhooks=WebhookTables(Webhook, WebhookDelivery, WebhookAttempt),
        event_feed=True,
        org_settings_model=SurveyOrgSettings,
        org_settings_check=check_org_settings,
        background=[run_sender],
        gauges=[invitation_gauges],
        consumer=EventConsumer(inbox=InboxEvent, handlers=event_handlers(settings)),
    )
    return create_service_app(spec, settings)


app = create_app()
