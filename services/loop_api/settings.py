"""loop_api settings: the common ones plus `LOOP_DATABASE_URL`."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class LoopSettings(ServiceSettings):
    """Settings of loop_api."""

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/loop.db",
        validation_alias=AliasChoices("LOOP_DATABASE_URL", "database_url"),
    )
    case_max_response_age_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        validation_alias=AliasChoices("LOOP_CASE_MAX_RESPONSE_AGE_DAYS", "case_max_response_age_days"),
        description="Responses submitted longer ago than this open no case (a historic import is not a backlog)",
    )
    sweep_interval_seconds: float = Field(
        default=60.0,
        gt=0,
        validation_alias=AliasChoices("LOOP_SWEEP_INTERVAL_SECONDS", "sweep_interval_seconds"),
        description="How often the in-process sweeper looks for SLA breaches",
    )
    effects_interval_seconds: float = Field(
        default=600.0,
        gt=0,
        validation_alias=AliasChoices("LOOP_EFFECTS_INTERVAL_SECONDS", "effects_interval_seconds"),
        description="How often active action plans are checked for a day-old effect to measure again",
    )


@lru_cache
def get_settings() -> LoopSettings:
    """The process-wide settings of loop_api."""
    return LoopSettings()
