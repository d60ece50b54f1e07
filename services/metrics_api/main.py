"""metrics_api — understand: NPS, CSAT and CES with their uncertainty, segments, trends and scorecards (port 8002)."""

from __future__ import annotations

from fastapi import FastAPI

from services.metrics_api.case_figures import CaseFigures
from services.metrics_api.ingest import handle_events
from services.metrics_api.models import IdempotencyRecord, InboxEvent, OrgSettingsRow, OutboxEvent
from services.metrics_api.reason_labels import ReasonLabels
from services.metrics_api.routes import benchmarks, insight, metrics, scorecards, targets
from services.metrics_api.schemas import MetricsOrgSettings
from services.metrics_api.settings import MetricsSettings, get_settings
from shared.app import EventConsumer, create_service_app

ACCEPTS = ("response.", "contact.erased", "invitation.")


def create_app(settings: MetricsSettings | None = None) -> FastAPI:
    """Build the metrics_api app (settings from the environment unless given)."""
    settings = settings or get_settings()
    app = create_service_app(
        title="cxloop metrics_api",
        description="Understand: NPS, CSAT and CES with sample size and margin of error, targets and scorecards.",
        settings=settings,
        routers=[metrics.router, scorecards.router, targets.router, benchmarks.router, insight.router],
        idempotency_table=IdempotencyRecord,
        org_settings_table=OrgSettingsRow,
        outbox_table=OutboxEvent,
        source="metrics",
        org_settings_model=MetricsOrgSettings,
        consumer=EventConsumer(inbox=InboxEvent, accepts=ACCEPTS, handler=handle_events),
    )
    app.state.case_figures = CaseFigures(settings, lambda: app.state.dispatcher.clients.get("loop"))
    app.state.reason_labels = ReasonLabels(settings, lambda: app.state.dispatcher.clients.get("survey"))
    return app


app = create_app()
