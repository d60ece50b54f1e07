"""Alembic configuration for each service's migration environment, and the upgrade/downgrade calls."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from cxloop.services import SERVICES

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(service: str, database_url: str) -> Config:
    """The Alembic config of one service (`survey_api`, `metrics_api`, `loop_api`) against `database_url`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR / service))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.set_main_option("timezone", "UTC")
    return config


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    """Migrate one service's database up to `revision`."""
    command.upgrade(alembic_config(service, database_url), revision)


def downgrade(service: str, database_url: str, revision: str = "base") -> None:
    """Migrate one service's database down to `revision`."""
    command.downgrade(alembic_config(service, database_url), revision)


def upgrade_all(urls: dict[str, str] | None = None) -> None:
    """Migrate every service's database (URLs from each service's settings unless given)."""
    for name, spec in SERVICES.items():
        upgrade(name, (urls or {}).get(name) or spec.settings().database_url)
