"""metrics_api — understand: NPS, CSAT and CES with their uncertainty, segments, trends and scorecards (port 8002)."""

from __future__ import annotations

from fastapi import FastAPI

from services.metrics_api.models import IdempotencyRecord, OrgSettingsRow, OutboxEvent
from services.metrics_api.routes import targets
from services.metrics_api.schemas import MetricsOrgSettings
from services.metrics_api.settings import MetricsSettings, get_settings
from shared.app import create_service_app


def create_app(settings: MetricsSettings | None = None) -> FastAPI:
    """Build the metrics_api app (settings from the environment unless given)."""
    return create_service_app(
        title="cxloop metrics_api",
        description="Understand: NPS, CSAT and CES with sample size and margin of error, targets and scorecards.",
        settings=settings or get_settings(),
        routers=[targets.router],
        idempotency_table=IdempotencyRecord,
        org_settings_table=OrgSettingsRow,
        outbox_table=OutboxEvent,
        source="metrics",
        org_settings_model=MetricsOrgSettings,
    )


app = create_app()
