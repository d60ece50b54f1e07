"""The three services: their short names, ports, apps, settings and tables, in one table the CLI reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from sqlalchemy import MetaData

from services.loop_api import main as loop_main
from services.loop_api import models as loop_models
from services.loop_api.settings import get_settings as loop_settings
from services.metrics_api import main as metrics_main
from services.metrics_api import models as metrics_models
from services.metrics_api.settings import get_settings as metrics_settings
from services.survey_api import main as survey_main
from services.survey_api import models as survey_models
from services.survey_api.settings import get_settings as survey_settings
from shared.outbox import OutboxEventFields
from shared.settings import ServiceSettings


@dataclass(frozen=True)
class ServiceSpec:
    """How to find, configure and serve one service."""

    name: str
    short: str
    port: int
    app_path: str
    create_app: Callable[..., FastAPI]
    settings: Callable[[], ServiceSettings]
    metadata: MetaData
    outbox: type[OutboxEventFields]

    def build(self, settings: Any = None) -> FastAPI:
        """The service's app, with its settings from the environment unless given."""
        return self.create_app(settings)


SERVICES: dict[str, ServiceSpec] = {
    spec.name: spec
    for spec in (
        ServiceSpec(
            "survey_api",
            "survey",
            8001,
            "services.survey_api.main:app",
            survey_main.create_app,
            survey_settings,
            survey_models.SurveyTable.metadata,
            survey_models.OutboxEvent,
        ),
        ServiceSpec(
            "metrics_api",
            "metrics",
            8002,
            "services.metrics_api.main:app",
            metrics_main.create_app,
            metrics_settings,
            metrics_models.MetricsTable.metadata,
            metrics_models.OutboxEvent,
        ),
        ServiceSpec(
            "loop_api",
            "loop",
            8003,
            "services.loop_api.main:app",
            loop_main.create_app,
            loop_settings,
            loop_models.LoopTable.metadata,
            loop_models.OutboxEvent,
        ),
    )
}


def select(target: str) -> list[ServiceSpec]:
    """The services a CLI argument names: `survey`, `metrics`, `loop` (or the full name), or `all`."""
    if target == "all":
        return list(SERVICES.values())
    for spec in SERVICES.values():
        if target in (spec.name, spec.short):
            return [spec]
    raise ValueError(f"unknown service {target!r}; use survey, metrics, loop or all")
