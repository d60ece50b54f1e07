"""loop_api settings: the common ones plus `LOOP_DATABASE_URL`, the SLA sweeper and the notification emails."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr, field_validator

from shared.mail import parse_smtp_url
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

    smtp_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("LOOP_SMTP_URL", "smtp_url"),
        description="`smtp://user:pass@host:587` (`?starttls=true|false`), `smtps://…`; unset: notifications wait",
    )
    mail_from: str = Field(
        default="cxloop <cases@localhost>",
        max_length=300,
        validation_alias=AliasChoices("LOOP_MAIL_FROM", "mail_from"),
        description="The From address of notification emails",
    )
    public_url: str | None = Field(
        default=None,
        max_length=500,
        validation_alias=AliasChoices("LOOP_PUBLIC_URL", "public_url"),
        description="Base of the case links in emails (default: LOOP_API_URL); `{case_id}` in it is replaced",
    )
    digest_hour: int = Field(
        default=8,
        ge=0,
        le=23,
        validation_alias=AliasChoices("LOOP_DIGEST_HOUR", "digest_hour"),
        description="The hour of the day (the org's time zone) from which each person's daily digest is sent",
    )
    notify_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        validation_alias=AliasChoices("LOOP_NOTIFY_INTERVAL_SECONDS", "notify_interval_seconds"),
        description="How often the in-process sender looks for pending notifications when idle",
    )

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            parse_smtp_url(value.get_secret_value(), setting="LOOP_SMTP_URL")
            return value
        return None

    @property
    def case_link_base(self) -> str:
        """Where the case links of emails point: the public URL, or the service URL when none is set."""
        return self.public_url or self.loop_api_url


@lru_cache
def get_settings() -> LoopSettings:
    """The process-wide settings of loop_api."""
    return LoopSettings()
