"""metrics_api's per-org settings."""

from __future__ import annotations

from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator


class MetricsOrgSettings(BaseModel):
    """metrics_api's per-org settings."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = Field(
        default="UTC",
        max_length=64,
        description=(
            "IANA time zone of the day buckets; facts already stored keep their days until `cxloop metrics rebuild`"
        ),
    )
    min_sample: int = Field(default=5, ge=1, le=1000, description="Below this n a metric is reported as null")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in available_timezones() and value != "UTC":
            raise ValueError(f"unknown IANA time zone {value!r}")
        ZoneInfo(value)
        return value
