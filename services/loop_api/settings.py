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


@lru_cache
def get_settings() -> LoopSettings:
    """The process-wide settings of loop_api."""
    return LoopSettings()
