"""metrics_api settings: the common ones plus `METRICS_DATABASE_URL`."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class MetricsSettings(ServiceSettings):
    """Settings of metrics_api."""

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/metrics.db",
        validation_alias=AliasChoices("METRICS_DATABASE_URL", "database_url"),
    )


@lru_cache
def get_settings() -> MetricsSettings:
    """The process-wide settings of metrics_api."""
    return MetricsSettings()
