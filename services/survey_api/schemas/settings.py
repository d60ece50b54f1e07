"""survey_api's per-org settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas.common import Language


class SurveyOrgSettings(BaseModel):
    """survey_api's per-org settings."""

    model_config = ConfigDict(extra="forbid")

    contact_frequency_days: int = Field(
        default=30, ge=0, le=3650, description="At most one invitation per contact per this many days; 0 = off"
    )
    default_languages: list[Language] = Field(default_factory=lambda: ["en"], min_length=1, max_length=50)
