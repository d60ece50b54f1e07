"""metrics_api — understand: NPS, CSAT and CES with their uncertainty, segments, trends and scorecards (port 8002)."""

from __future__ import annotations

from fastapi import FastAPI

from services.metrics_api.case_figures import TIMEOUT_SECONDS, CaseFigures
from services.metrics_api.events import handlers
from services.metrics_api.labels import TIMEOUT_SECONDS as SURVEY_TIMEOUT_SECONDS
from services.metrics_api.models import IdempotencyRecord, InboxEvent, OrgSettingsRow, OutboxEvent
from services.metrics_api.reason_labels import ReasonLabels
from services.metrics_api.routes import benchmarks, histograms, insight, linkage, metrics, scorecards, targets
from services.metrics_api.schemas import MetricsOrgSettings
from services.metrics_api.settings import MetricsSettings, get_settings
from services.metrics_api.themes import routes as themes
from shared.app import EventConsumer, ServiceSpec, create_service_app
from shared.clients import loop_client, survey_client

SPEC = ServiceSpec(
    title="cxloop metrics_api",
    description="Understand: NPS, CSAT and CES with sample size and margin of error, targets and scorecards.",
    source="metrics",
    routers=[
        metrics.router,
        scorecards.router,
        targets.router,
        benchmarks.router,
        insight.router,
        linkage.router,
        histograms.router,
        themes.router,
        themes.metrics_router,
        themes.comments_router,
    ],
    idempotency_table=IdempotencyRecord,
    org_settings_table=OrgSettingsRow,
    outbox_table=OutboxEvent,
    org_settings_model=MetricsOrgSettings,
    consumer=EventConsumer(inbox=InboxEvent, handlers=handlers),
)


def create_app(settings: MetricsSettings | None = None) -> FastAPI:
    """Build the metrics_api app (settings from the environment unless given)."""
    settings = settings or get_settings()
    app = create_service_app(SPEC, settings)
    loop = loop_client(settings, caller="metrics_api", timeout=TIMEOUT_SECONDS)
    survey = survey_client(settings, caller="metrics_api", timeout=SURVEY_TIMEOUT_SECONDS)
    app.state.service_clients += [loop, survey]
    app.state.case_figures = CaseFigures(loop)
    app.state.reason_labels = ReasonLabels(survey)
    app.state.survey_catalog = survey
    return app


app = create_app()
