"""survey_api settings: the common ones plus `SURVEY_DATABASE_URL`."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field

from shared.settings import ServiceSettings


class SurveySettings(ServiceSettings):
    """Settings of survey_api."""

    database_url: str = Field(
        default="sqlite+aiosqlite:///./var/survey.db",
        validation_alias=AliasChoices("SURVEY_DATABASE_URL", "database_url"),
    )
    public_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SURVEY_PUBLIC_URL", "public_url"),
        description="Base URL respondents reach the hosted page at (default: SURVEY_API_URL)",
    )

    @property
    def respondent_base_url(self) -> str:
        """Where invitation links point: the public URL, or the service URL when none is set."""
        return self.public_url or self.survey_api_url


@lru_cache
def get_settings() -> SurveySettings:
    """The process-wide settings of survey_api."""
    return SurveySettings()
