"""loop_api — act: rules, cases, SLAs, root causes and action plans (port 8003)."""

from __future__ import annotations

from fastapi import FastAPI

from services.loop_api.models import IdempotencyRecord, OrgSettingsRow, OutboxEvent
from services.loop_api.routes import root_causes
from services.loop_api.schemas import LoopOrgSettings
from services.loop_api.settings import LoopSettings, get_settings
from shared.app import create_service_app


def create_app(settings: LoopSettings | None = None) -> FastAPI:
    """Build the loop_api app (settings from the environment unless given)."""
    return create_service_app(
        title="cxloop loop_api",
        description="Act: close the loop with cases, SLAs, root causes and action plans.",
        settings=settings or get_settings(),
        routers=[root_causes.router],
        idempotency_table=IdempotencyRecord,
        org_settings_table=OrgSettingsRow,
        outbox_table=OutboxEvent,
        source="loop",
        org_settings_model=LoopOrgSettings,
    )


app = create_app()
