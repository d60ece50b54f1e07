"""docker-compose.yml mirrors `make run` and passes every setting a deployment needs through from `.env`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from cxloop.services import SERVICES
from services.loop_api.settings import LoopSettings
from services.metrics_api.settings import MetricsSettings
from services.survey_api.settings import SurveySettings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS_CLASSES: dict[str, type[BaseSettings]] = {
    "survey": SurveySettings,
    "metrics": MetricsSettings,
    "loop": LoopSettings,
}
# Settings other branches add (mail of loop_api, identity-provider claim names): reserved in compose already.
RESERVED = {
    "common": {"CXLOOP_JWT_ORG_CLAIM", "CXLOOP_JWT_SCOPE_CLAIM", "CXLOOP_JWT_UNITS_CLAIM"},
    "survey": set(),
    "metrics": set(),
    "loop": {"LOOP_SMTP_URL", "LOOP_MAIL_FROM", "LOOP_PUBLIC_URL"},
}
SECRET_A = "a" * 64
SECRET_B = "b" * 64
SECRET_C = "c" * 64
# A production `.env`: every value differs from its default, so a setting that is not passed through shows.
SAMPLE_ENV = {
    "CXLOOP_ENV": "production",
    "CXLOOP_JWT_SECRET": SECRET_A,
    "CXLOOP_SERVICE_JWT_SECRET": SECRET_B,
    "CXLOOP_JWT_ISSUER": "https://idp.example.com/",
    "CXLOOP_JWT_AUDIENCE": "cxloop-prod",
    "CXLOOP_JWT_ALGORITHMS": '["RS256","HS256"]',
    "CXLOOP_JWT_JWKS_FILE": "/etc/cxloop/keys/jwks.json",
    "CXLOOP_JWT_JWKS_URL": "https://idp.example.com/.well-known/jwks.json",
    "CXLOOP_JWT_LEEWAY_SECONDS": "10",
    "CXLOOP_JWT_SIGNING_KEY_FILE": "/etc/cxloop/keys/signing.pem",
    "CXLOOP_JWT_SIGNING_KID": "k1",
    "CXLOOP_JWT_ORG_CLAIM": "tenant",
    "CXLOOP_JWT_SCOPE_CLAIM": "scp",
    "CXLOOP_JWT_UNITS_CLAIM": "cx_units",
    "CXLOOP_CORS_ORIGINS": '["https://app.example.com"]',
    "CXLOOP_MAX_BODY_BYTES": "1048576",
    "CXLOOP_MAX_HEADER_BYTES": "16384",
    "CXLOOP_FORWARDED_ALLOW_IPS": "10.0.0.2,10.0.0.3",
    "CXLOOP_LOG_LEVEL": "WARNING",
    "CXLOOP_LOG_FORMAT": "console",
    "CXLOOP_WEBHOOKS_ALLOW_PRIVATE": "true",
    "CXLOOP_WEBHOOKS_DISABLE_AFTER_HOURS": "24",
    "CXLOOP_BACKGROUND_TASKS": "false",
    "CXLOOP_IDEMPOTENCY_TTL_HOURS": "48",
    "CXLOOP_PUBLIC_RATE_PER_MINUTE": "30",
    "CXLOOP_DATABASE_POOL_SIZE": "20",
    "CXLOOP_DATABASE_ECHO": "true",
    "SURVEY_DATABASE_URL": "postgresql://cx:pw@db.internal:5432/survey",
    "METRICS_DATABASE_URL": "postgresql://cx:pw@db.internal:5432/metrics",
    "LOOP_DATABASE_URL": "postgresql://cx:pw@db.internal:5432/loop",
    "SURVEY_PUBLIC_URL": "https://feedback.example.com",
    "SURVEY_TOKEN_SECRET": SECRET_C,
    "SURVEY_SMTP_URL": "smtp://mailer:pw@smtp.example.com:587?starttls=true",
    "SURVEY_MAIL_FROM": "Example <surveys@example.com>",
    "SURVEY_SMS_URL": "https://sms.example.com/send",
    "SURVEY_SMS_USER": "smsuser",
    "SURVEY_SMS_PASSWORD": "smspass",
    "SURVEY_SMS_FROM": "Example",
    "LOOP_PUBLIC_URL": "https://cases.example.com",
    "LOOP_SMTP_URL": "smtps://mailer:pw@smtp.example.com:465",
    "LOOP_MAIL_FROM": "Example <cases@example.com>",
    "LOOP_CASE_MAX_RESPONSE_AGE_DAYS": "14",
    "LOOP_SWEEP_INTERVAL_SECONDS": "30",
    "LOOP_EFFECTS_INTERVAL_SECONDS": "900",
    "LOOP_NOTIFY_INTERVAL_SECONDS": "10",
    "LOOP_DIGEST_HOUR": "7",
    "CXLOOP_JWT_JWKS_CACHE_SECONDS": "120",
    "CXLOOP_WEBHOOKS_CONCURRENCY": "32",
    "CXLOOP_WEBHOOKS_PER_WEBHOOK_CONCURRENCY": "4",
    "POSTGRES_PASSWORD": "pg-secret",
}
SERVICE_URLS = {"SURVEY_API_URL", "METRICS_API_URL", "LOOP_API_URL"}


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def env_names(settings: type[BaseSettings]) -> set[str]:
    """Every environment variable a settings class reads (its first alias, or prefix + field name)."""
    prefix = str(settings.model_config.get("env_prefix", "")).upper()
    names = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.add(str(alias.choices[0]).upper())
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def rendered(tmp_path: Path, env: dict[str, str] | None) -> dict[str, Any]:
    """`docker-compose config` of the project, with `env` as its `.env` file and nothing from this process."""
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in (env or {}).items()))
    command = [
        "docker-compose",
        "--project-directory",
        str(ROOT),
        "--env-file",
        str(env_file),
        "-f",
        str(ROOT / "docker-compose.yml"),
        "config",
    ]
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    out = subprocess.run(command, env=clean, capture_output=True, text=True, check=True, cwd=tmp_path)
    document: dict[str, Any] = yaml.safe_load(out.stdout)
    return document


needs_compose = pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")


def test_make_run_is_migrate_then_serve_all() -> None:
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "cxloop migrate all" in recipe
    assert "cxloop serve all" in recipe


def test_compose_migrates_then_serves_each_service_on_its_port() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["cxloop", "migrate", "all"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for spec in SERVICES.values():
        service = services[spec.short]
        assert service["command"][:3] == ["cxloop", "serve", spec.short]
        assert service["command"][-1] == str(spec.port)
        assert service["ports"] == [f"{spec.port}:{spec.port}"]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["restart"] == "unless-stopped"
        assert service["environment"][f"{spec.short.upper()}_API_URL"] == f"http://{spec.short}:{spec.port}"
        probe = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{spec.port}/readyz" in probe


def test_each_service_is_given_every_setting_it_reads() -> None:
    services = compose()["services"]
    common = env_names(SurveySettings) & env_names(MetricsSettings) & env_names(LoopSettings)
    for short, settings in SETTINGS_CLASSES.items():
        expected = env_names(settings) | RESERVED["common"] | RESERVED[short]
        given = set(services[short]["environment"])
        assert expected - given == set(), f"{short} is not given {sorted(expected - given)}"
        others = {n for s, c in SETTINGS_CLASSES.items() if s != short for n in env_names(c)} - common
        assert given & others - SERVICE_URLS == set(), f"{short} is given another service's settings"
    migrate = set(services["migrate"]["environment"])
    assert set().union(*(set(services[s]["environment"]) for s in SETTINGS_CLASSES)) <= migrate


def test_env_example_names_every_variable_compose_reads() -> None:
    referenced = set(re.findall(r"\$\{([A-Z0-9_]+)", (ROOT / "docker-compose.yml").read_text()))
    example = (ROOT / ".env.example").read_text()
    named = set(re.findall(r"^#? ?([A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert referenced - named == set(), f".env.example misses {sorted(referenced - named)}"
    assert named - referenced == set(), f".env.example names what compose ignores: {sorted(named - referenced)}"


@needs_compose
def test_compose_renders_a_sample_env_into_each_service(tmp_path: Path) -> None:
    services = rendered(tmp_path, SAMPLE_ENV)["services"]
    for short, settings_class in SETTINGS_CLASSES.items():
        environment = services[short]["environment"]
        for name in env_names(settings_class) | RESERVED["common"] | RESERVED[short]:
            if name in SERVICE_URLS:
                continue
            assert environment[name] == SAMPLE_ENV[name], f"{short}: {name}"
        assert services[short]["restart"] == "unless-stopped"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pg-secret"


@needs_compose
def test_rendered_environments_configure_each_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    services = rendered(tmp_path, SAMPLE_ENV)["services"]
    for short, settings_class in SETTINGS_CLASSES.items():
        with monkeypatch.context() as patch:
            for name in [n for n in os.environ if n.startswith(("CXLOOP_", "SURVEY_", "METRICS_", "LOOP_"))]:
                patch.delenv(name)
            for name, value in services[short]["environment"].items():
                patch.setenv(name, value)
            settings: Any = settings_class()
        assert settings.env == "production"
        assert settings.jwt_algorithms == ["RS256", "HS256"]
        assert settings.jwt_jwks_url == SAMPLE_ENV["CXLOOP_JWT_JWKS_URL"]
        assert settings.cors_origins == ["https://app.example.com"]
        assert settings.forwarded_allow_ips == "10.0.0.2,10.0.0.3"
        assert settings.database_url == SAMPLE_ENV[f"{short.upper()}_DATABASE_URL"]
        assert settings.log_format == "console"
    survey = services["survey"]["environment"]
    assert survey["SURVEY_PUBLIC_URL"] == "https://feedback.example.com"


@needs_compose
def test_without_env_file_the_stack_starts_with_working_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = rendered(tmp_path, None)["services"]
    for short, settings_class in SETTINGS_CLASSES.items():
        with monkeypatch.context() as patch:
            for name in [n for n in os.environ if n.startswith(("CXLOOP_", "SURVEY_", "METRICS_", "LOOP_"))]:
                patch.delenv(name)
            for name, value in services[short]["environment"].items():
                patch.setenv(name, value)
            settings: Any = settings_class()  # empty values keep their defaults: no validation error
        assert settings.env == "development"
        assert settings.database_url.startswith("postgresql://cxloop:cxloop@postgres:5432/")
        assert settings.log_format == "json"
    survey: Any = None
    with monkeypatch.context() as patch:
        for name, value in services["survey"]["environment"].items():
            patch.setenv(name, value)
        survey = SurveySettings()
    assert survey.respondent_base_url == "http://localhost:8001"  # not the internal http://survey:8001


def test_each_service_has_its_own_postgres_database() -> None:
    environment = compose()["services"]["migrate"]["environment"]
    databases = set()
    for spec in SERVICES.values():
        url = environment[f"{spec.short.upper()}_DATABASE_URL"]
        databases.add(url.rsplit("/", 1)[1].rstrip("}"))
    assert len(databases) == 3
    init = (ROOT / "deploy" / "postgres-init.sql").read_text()
    assert all(f"CREATE DATABASE {db};" in init for db in databases)
