"""survey_api — listen: surveys, contacts, distributions, invitations and responses (port 8001)."""

from __future__ import annotations

from fastapi import FastAPI

from services.survey_api.models import IdempotencyRecord, OrgSettingsRow, OutboxEvent, Webhook, WebhookDelivery
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
from shared.app import create_service_app


def create_app(settings: SurveySettings | None = None) -> FastAPI:
    """Build the survey_api app (settings from the environment unless given)."""
    return create_service_app(
        title="cxloop survey_api",
        description="Listen: NPS / CSAT / CES surveys, contacts, distributions and responses.",
        settings=settings or get_settings(),
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
        source="survey",
        webhooks=(Webhook, WebhookDelivery),
        event_feed=True,
        org_settings_model=SurveyOrgSettings,
        background=[run_sender],
    )


app = create_app()
