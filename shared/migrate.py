"""What every service's Alembic `env.py` runs: migrations through a synchronous driver, batch mode on SQLite."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import MetaData, create_engine, pool

from shared.db import install_sqlite_pragmas, sync_url


def run_env(metadata: MetaData) -> None:
    """Run the migrations of one service against `sqlalchemy.url` (offline: print the SQL)."""
    url = sync_url(context.config.get_main_option("sqlalchemy.url") or "")
    options: dict[str, Any] = {
        "target_metadata": metadata,
        "compare_type": True,
        "render_as_batch": url.startswith("sqlite"),
    }
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    if url.startswith("sqlite"):
        install_sqlite_pragmas(engine)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
