"""Each service's migrations: upgrade an empty database to head, find no drift from the models, downgrade."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

from cxloop.migrations import alembic_config, downgrade, upgrade
from cxloop.services import SERVICES
from shared.db import sync_url
from tests.conftest import BACKENDS, Backend, drop_backend, make_backend


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Empty databases, never migrated, for every service."""
    created = make_backend(request.param, tmp_path)
    try:
        yield created
    finally:
        drop_backend(created)


def user_tables(url: str) -> set[str]:
    engine = create_engine(sync_url(url))
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def drift(url: str, service: str) -> list[object]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, SERVICES[service].metadata))
    finally:
        engine.dispose()


@pytest.mark.parametrize("service", list(SERVICES))
def test_upgrade_matches_models_then_downgrades_to_nothing(service: str, fresh: Backend) -> None:
    url = fresh.urls[service]
    upgrade(service, url)
    assert user_tables(url) == set(SERVICES[service].metadata.tables)
    assert drift(url, service) == []
    downgrade(service, url)
    assert user_tables(url) == set()
    upgrade(service, url)  # and the way back up still works
    assert drift(url, service) == []


@pytest.mark.parametrize("service", list(SERVICES))
def test_revisions_are_date_stamped_and_linear(service: str) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(service, "sqlite://"))
    assert len(scripts.get_heads()) == 1
    for revision in scripts.walk_revisions():
        assert revision.path is not None
        assert Path(revision.path).name[:8].isdigit(), revision.path
