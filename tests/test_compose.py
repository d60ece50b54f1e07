"""docker-compose.yml mirrors `make run`: migrate all, then each service on its port, with DESIGN's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cxloop.services import SERVICES

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {
    "CXLOOP_JWT_SECRET",
    "CXLOOP_SERVICE_JWT_SECRET",
    "CXLOOP_JWT_ISSUER",
    "CXLOOP_JWT_AUDIENCE",
    "CXLOOP_ENV",
    "SURVEY_DATABASE_URL",
    "METRICS_DATABASE_URL",
    "LOOP_DATABASE_URL",
    "SURVEY_API_URL",
    "METRICS_API_URL",
    "LOOP_API_URL",
}


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return document


def test_make_run_is_migrate_then_serve_all() -> None:
    recipe = (ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "cxloop migrate all" in recipe
    assert "cxloop serve all" in recipe


def test_compose_migrates_then_serves_each_service_on_its_port() -> None:
    services = compose()["services"]
    assert services["migrate"]["command"] == ["cxloop", "migrate", "all"]
    for spec in SERVICES.values():
        service = services[spec.short]
        assert service["command"][:3] == ["cxloop", "serve", spec.short]
        assert service["command"][-1] == str(spec.port)
        assert service["ports"] == [f"{spec.port}:{spec.port}"]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert set(service["environment"]) == SETTINGS
        assert service["environment"][f"{spec.short.upper()}_API_URL"] == f"http://{spec.short}:{spec.port}"


def test_each_service_has_its_own_postgres_database() -> None:
    environment = compose()["services"]["migrate"]["environment"]
    databases = {environment[f"{s.short.upper()}_DATABASE_URL"].rsplit("/", 1)[1] for s in SERVICES.values()}
    assert len(databases) == 3
    init = (ROOT / "deploy" / "postgres-init.sql").read_text()
    assert all(f"CREATE DATABASE {db};" in init for db in databases)
