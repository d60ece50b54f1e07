"""survey_api settings: the common ones plus `SURVEY_DATABASE_URL`, the public URL and the mail/SMS transports."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr, model_validator

from shared.settings import DEVELOPMENT_SECRET, ServiceSettings


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

    smtp_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SURVEY_SMTP_URL", "smtp_url"),
        description="`smtp://user:pass@host:587` (`?starttls=true|false`), `smtps://…` (implicit TLS); unset: no email",
    )
    mail_from: str = Field(
        default="cxloop <surveys@localhost>",
        validation_alias=AliasChoices("SURVEY_MAIL_FROM", "mail_from"),
        description="The From address of invitation emails",
    )
    sms_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SURVEY_SMS_URL", "sms_url"),
        description="The SMS provider endpoint (form POST of To, From, Body); unset = no SMS",
    )
    sms_user: str | None = Field(default=None, validation_alias=AliasChoices("SURVEY_SMS_USER", "sms_user"))
    sms_password: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SURVEY_SMS_PASSWORD", "sms_password")
    )
    sms_from: str = Field(default="cxloop", validation_alias=AliasChoices("SURVEY_SMS_FROM", "sms_from"))
    token_secret: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SURVEY_TOKEN_SECRET", "token_secret"),
        description=(
            "Key invitation tokens are derived from (default: CXLOOP_JWT_SECRET). Keep it stable: after a change,"
            " an invitation's link is re-keyed when it is next sent or reminded, and its earlier link stops working"
        ),
    )

    @model_validator(mode="after")
    def _check_transports_and_token_secret(self) -> SurveySettings:
        smtp = self.smtp_url.get_secret_value() if self.smtp_url else None
        if smtp is not None and not smtp.startswith(("smtp://", "smtps://")):
            raise ValueError("SURVEY_SMTP_URL must start with smtp:// or smtps://")
        if self.env == "production" and self.invitation_secret == DEVELOPMENT_SECRET:
            raise ValueError("CXLOOP_ENV=production needs SURVEY_TOKEN_SECRET (or your own CXLOOP_JWT_SECRET)")
        return self

    @property
    def invitation_secret(self) -> str:
        """The key invitation tokens are derived from, so the sender can rebuild a link it never stored."""
        return self.token_secret.get_secret_value() if self.token_secret is not None else self.jwt_secret

    @property
    def respondent_base_url(self) -> str:
        """Where invitation links point: the public URL, or the service URL when none is set."""
        return self.public_url or self.survey_api_url


@lru_cache
def get_settings() -> SurveySettings:
    """The process-wide settings of survey_api."""
    return SurveySettings()
