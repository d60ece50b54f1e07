"""survey_api's per-org settings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.schemas.common import Language


class SurveyOrgSettings(BaseModel):
    """survey_api's per-org settings."""

    model_config = ConfigDict(extra="forbid")

    contact_frequency_days: int = Field(
        default=30, ge=0, le=3650, description="At most one invitation per contact per this many days; 0 = off"
    )
    default_languages: list[Language] = Field(default_factory=lambda: ["en"], min_length=1, max_length=50)
    followup_survey_id: str | None = Field(
        default=None,
        max_length=40,
        description="The survey sent after a case is closed; null: a built-in 'Case follow-up' survey is made",
    )
    followup_channel: Literal["auto", "email", "sms", "link"] = Field(
        default="auto", description="auto: email if the contact has one, else SMS, else a link"
    )
