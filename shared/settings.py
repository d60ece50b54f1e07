"""Settings every service shares, read from the environment (DESIGN §9)."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "cxloop-development-secret-do-not-use-in-production"  # noqa: S105 - a known dev default
MIN_SECRET_BYTES = 32


class CommonSettings(BaseSettings):
    """Authentication, HTTP limits and where the other services live."""

    # An empty variable means "unset" (docker-compose passes `${VAR:-}` through as ""), so defaults still apply.
    model_config = SettingsConfigDict(
        env_prefix="CXLOOP_", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    env: Literal["development", "test", "production"] = "development"
    jwt_secret: str = DEVELOPMENT_SECRET
    jwt_issuer: str = "cxloop"
    jwt_audience: str = "cxloop"
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["HS256"])
    jwt_jwks_file: str | None = None
    jwt_jwks_url: str | None = None
    jwt_jwks_cache_seconds: int = Field(
        default=300,
        ge=0,
        le=24 * 3600,
        description="How long trusted keys are kept before the JWKS is read again (an unknown kid reads it at once)",
    )
    jwt_leeway_seconds: int = Field(default=30, ge=0, le=300)
    jwt_signing_key_file: str | None = None
    jwt_signing_kid: str | None = None
    jwt_org_claim: str = Field(
        default="org",
        min_length=1,
        max_length=300,
        description="The claim naming the tenant: a name (`org_id`, `https://example.com/org`) or a dotted path",
    )
    jwt_scope_claim: str = Field(
        default="scope",
        min_length=1,
        max_length=300,
        description="The claim(s) carrying scopes, comma-separated (`scp,roles`, `realm_access.roles`); each a "
        "space-separated string or an array, merged",
    )
    jwt_units_claim: str = Field(
        default="units",
        min_length=1,
        max_length=300,
        description="The claim listing the unit subtrees a caller may see (an array of unit paths), or a dotted path",
    )
    service_jwt_secret: str | None = Field(
        default=None,
        description="Signs the services' own tokens (HS256); required in production, derived from the JWT secret "
        "elsewhere",
    )
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_header_bytes: int = Field(
        default=32 * 1024, ge=8 * 1024, description="`cxloop serve`: a longer request line and headers get 431"
    )
    forwarded_allow_ips: str = Field(
        default="",
        description="`cxloop serve`: comma-separated proxy addresses whose X-Forwarded-For/-Proto are trusted "
        "(default: none; `*` trusts every client)",
    )
    log_level: str = "INFO"
    log_format: Literal["auto", "console", "json"] = Field(
        default="auto",
        description="`console`: coloured one-line logs; `json`: one JSON object a line; `auto`: console on a "
        "terminal or in development, JSON otherwise",
    )
    webhooks_allow_private: bool = Field(
        default=False, description="Allow webhook URLs on loopback/private networks (tests, local development)"
    )
    webhooks_disable_after_hours: int = Field(default=72, ge=1, le=24 * 30)
    webhooks_concurrency: int = Field(
        default=64, ge=1, le=1000, description="Webhook requests in flight at once per process, over every webhook"
    )
    webhooks_per_webhook_concurrency: int = Field(
        default=8, ge=1, le=100, description="Webhook requests in flight at once per process to one webhook"
    )
    background_tasks: bool = Field(default=True, description="Run the outbox dispatcher (and sweepers) in-process")
    idempotency_ttl_hours: int = Field(
        default=24, ge=1, le=24 * 365, description="How long an Idempotency-Key is remembered (then purged)"
    )
    public_rate_per_minute: int = Field(
        default=60, ge=1, description="Public routes: requests a minute per invitation token, 5x per client address"
    )
    survey_api_url: str = Field(
        default="http://127.0.0.1:8001", validation_alias=AliasChoices("SURVEY_API_URL", "CXLOOP_SURVEY_API_URL")
    )
    metrics_api_url: str = Field(
        default="http://127.0.0.1:8002",
        validation_alias=AliasChoices("METRICS_API_URL", "CXLOOP_METRICS_API_URL"),
    )
    loop_api_url: str = Field(
        default="http://127.0.0.1:8003", validation_alias=AliasChoices("LOOP_API_URL", "CXLOOP_LOOP_API_URL")
    )

    @field_validator("service_jwt_secret")
    @classmethod
    def _unset_when_empty(cls, value: str | None) -> str | None:
        return value or None

    def service_secret(self) -> str:
        """The key of service tokens: its own setting, else (development, tests) one derived from the JWT secret."""
        if self.service_jwt_secret:
            return self.service_jwt_secret
        return hmac.new(self.jwt_secret.encode(), b"cxloop service tokens", hashlib.sha256).hexdigest()

    @model_validator(mode="after")
    def _refuse_weak_service_secret(self) -> CommonSettings:
        secret = self.service_jwt_secret
        if secret is not None and len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"CXLOOP_SERVICE_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if secret is not None and secret == self.jwt_secret:
            raise ValueError("CXLOOP_SERVICE_JWT_SECRET must differ from CXLOOP_JWT_SECRET")
        if self.env == "production" and secret is None:
            raise ValueError("CXLOOP_ENV=production needs CXLOOP_SERVICE_JWT_SECRET (the key of service tokens)")
        return self

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> CommonSettings:
        hmac_algorithms = [a for a in self.jwt_algorithms if a.upper().startswith("HS")]
        if "none" in {a.lower() for a in self.jwt_algorithms}:
            raise ValueError("CXLOOP_JWT_ALGORITHMS must not contain 'none'")
        if hmac_algorithms and len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"CXLOOP_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if self.env == "production" and hmac_algorithms and self.jwt_secret == DEVELOPMENT_SECRET:
            raise ValueError("CXLOOP_ENV=production refuses the default CXLOOP_JWT_SECRET; set your own")
        asymmetric = [a for a in self.jwt_algorithms if not a.upper().startswith("HS")]
        if asymmetric and not (self.jwt_jwks_file or self.jwt_jwks_url):
            raise ValueError("RS/ES algorithms need CXLOOP_JWT_JWKS_FILE or CXLOOP_JWT_JWKS_URL")
        return self


class ServiceSettings(CommonSettings):
    """A service's settings: the common ones plus its database URL (env name set by each service)."""

    database_url: str = "sqlite+aiosqlite:///./var/service.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_echo: bool = False


@lru_cache
def get_common_settings() -> CommonSettings:
    """The process-wide common settings (cached; tests build their own instances instead)."""
    return CommonSettings()
