"""loop_api — act: rules, cases, SLAs, root causes, action plans, and the people told of them (port 8003)."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI

from services.loop_api.cases import routes as cases
from services.loop_api.cases.sweeper import sweep_loop
from services.loop_api.clock import Clock
from services.loop_api.events import event_handlers
from services.loop_api.gauges import case_gauges
from services.loop_api.models import (
    IdempotencyRecord,
    InboxEvent,
    OrgSettingsRow,
    OutboxEvent,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from services.loop_api.notifications import routes as notifications
from services.loop_api.notifications.sender import notify_loop
from services.loop_api.org_settings import LoopOrgSettings
from services.loop_api.people import routes as people
from services.loop_api.plans import routes as plans
from services.loop_api.plans.effects import effects_loop
from services.loop_api.root_causes import routes as root_causes
from services.loop_api.rules import routes as rules
from services.loop_api.settings import LoopSettings, get_settings
from services.loop_api.teams import routes as teams
from shared.app import EventConsumer, ServiceSpec, create_service_app
from shared.clients import metrics_client
from shared.webhooks.tables import WebhookTables

METRICS_TIMEOUT_SECONDS = 5.0


def create_app(settings: LoopSettings | None = None) -> FastAPI:
    """Build the loop_api app (settings from the environment unless given)."""
    settings = settings or get_settings()
    clock = Clock()
    max_age = dt.timedelta(days=settings.case_max_response_age_days)
    spec = ServiceSpec(
        title="cxloop loop_api",
        description="Act: close the loop with cases, SLAs, root causes and action plans.",
        source="loop",
        routers=[
            rules.router,
            teams.router,
            people.router,
            cases.router,
            notifications.router,
            root_causes.router,
            plans.router,
        ],
        idempotency_table=IdempotencyRecord,
        org_settings_table=OrgSettingsRow,
        outbox_table=OutboxEvent,
        org_settings_model=LoopOrgSettings,
        consumer=EventConsumer(inbox=InboxEvent, handlers=event_handlers(clock, max_age)),
        background=[sweep_loop, effects_loop, notify_loop],
        gauges=[case_gauges],
        webhooks=WebhookTables(Webhook, WebhookDelivery, WebhookAttempt),
    )
    app = create_service_app(spec, settings)
    app.state.clock = clock
    metrics = metrics_client(settings, caller="loop_api", timeout=METRICS_TIMEOUT_SECONDS)
    app.state.service_clients.append(metrics)
    app.state.metrics = metrics  # the action plans' impact asks metrics_api for histograms
    return app


app = create_app()
