"""The `cxloop` command: tokens that verify, migrations that land where the settings say."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from typer.testing import CliRunner

from cxloop import cli
from cxloop.migrations import upgrade
from shared.auth import Principal, ServicePrincipal, TokenVerifier
from tests.conftest import TEST_SECRET, common_settings


def test_token_prints_a_verifiable_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXLOOP_JWT_SECRET", TEST_SECRET)
    cli.get_common_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli.app, ["token", "--org", "acme", "--scope", "metrics:read", "--units", "emea, amer/us", "--sub", "ann"]
        )
    finally:
        cli.get_common_settings.cache_clear()
    assert result.exit_code == 0, result.output
    principal = TokenVerifier(common_settings()).verify(result.output.strip())
    assert principal == Principal(sub="ann", org="acme", scopes=frozenset({"metrics:read"}), units=("emea", "amer/us"))


def test_token_service_mints_a_service_token_and_tenant_tokens_never_carry_events_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CXLOOP_JWT_SECRET", TEST_SECRET)
    cli.get_common_settings.cache_clear()
    try:
        service = CliRunner().invoke(cli.app, ["token", "--service", "replay-tool"])
        refused = CliRunner().invoke(cli.app, ["token", "--scope", "metrics:read events:write"])
    finally:
        cli.get_common_settings.cache_clear()
    assert service.exit_code == 0, service.output
    caller = TokenVerifier(common_settings()).identify(service.output.strip())
    assert caller == ServicePrincipal(service="replay-tool", scopes=frozenset({"events:write"}))
    assert refused.exit_code == 2
    assert "events:write" in refused.output


def test_migrate_one_service_uses_its_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.metrics_api.settings import get_settings

    monkeypatch.setenv("METRICS_DATABASE_URL", f"sqlite:///{tmp_path}/m.db")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["migrate", "metrics"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    engine = create_engine(f"sqlite:///{tmp_path}/m.db")
    assert "targets" in inspect(engine).get_table_names()
    engine.dispose()


def test_unknown_service_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli.app, ["migrate", "billing"])
    assert result.exit_code == 2
    assert "unknown service" in result.output


def test_outbox_drain_with_nothing_due(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cxloop.services import SERVICES

    for spec in SERVICES.values():
        url = f"sqlite:///{tmp_path}/{spec.short}.db"
        monkeypatch.setenv(f"{spec.short.upper()}_DATABASE_URL", url)
        upgrade(spec.name, url)
        spec.settings.cache_clear()  # type: ignore[attr-defined]
    try:
        result = CliRunner().invoke(cli.app, ["outbox", "drain", "all"])
        swept = CliRunner().invoke(cli.app, ["loop", "sweep"])
        sent = CliRunner().invoke(cli.app, ["send"])
        rebuilt = CliRunner().invoke(cli.app, ["metrics", "rebuild"])
    finally:
        for spec in SERVICES.values():
            spec.settings.cache_clear()  # type: ignore[attr-defined]
    assert result.exit_code == 0, result.output
    assert "survey_api: 0 events processed" in result.output
    assert swept.exit_code == 0, swept.output
    assert "loop_api: 0 escalations" in swept.output
    assert sent.exit_code == 0, sent.output
    assert "survey_api: 0 invitations sent, 0 reminders sent, 0 expired" in sent.output
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "metrics_api: (no orgs): 0 rollup rows" in rebuilt.output
