"""survey_api — listen: surveys, contacts, distributions, invitations and responses (port 8001)."""

from __future__ import annotations

from fastapi import FastAPI

from services.survey_api.followups import event_handlers
from services.survey_api.models import (
    IdempotencyRecord,
    InboxEvent,
    OrgSettingsRow,
    OutboxEvent,
    Webhook,
    WebhookDelivery,
)
from services.survey_api.routes import (
    contacts,
    distributions,
    hosted,
    public,
    responses,
    surveys,
    touchpoints,
    triggers,
    units,
)
from services.survey_api.schemas.settings import SurveyOrgSettings
from services.survey_api.sender import run_sender
from services.survey_api.settings import SurveySettings, get_settings
from shared.app import EventConsumer, ServiceSpec, create_service_app


def create_app(settings: SurveySettings | None = None) -> FastAPI:
    """Build the survey_api app (settings from the environment unless given)."""
    settings = settings or get_settings()
    spec = ServiceSpec(
        title="cxloop survey_api",
        description="Listen: NPS / CSAT / CES surveys, contacts, distributions and responses.",
        source="survey",
        routers=[
            units.router,
            touchpoints.router,
            surveys.router,
            contacts.router,
            responses.router,
            distributions.router,
            distributions.invitations_router,
            triggers.router,
            public.router,
            hosted.router,
            hosted.assets,
        ],
        idempotency_table=IdempotencyRecord,
        org_settings_table=OrgSettingsRow,
        outbox_table=OutboxEvent,
        webhooks=(Webhook, WebhookDelivery),
        event_feed=True,
        org_settings_model=SurveyOrgSettings,
        background=[run_sender],
        consumer=EventConsumer(inbox=InboxEvent, handlers=event_handlers(settings)),
    )
    return create_service_app(spec, settings)


app = create_app()
