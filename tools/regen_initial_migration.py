"""Regenerate a service's single initial migration from its models (only while nothing is released).

Usage: .venv/bin/python tools/regen_initial_migration.py survey_api
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from cxloop.migrations import MIGRATIONS_DIR, alembic_config


def main(service: str) -> None:
    """Delete `0001` of `service` and autogenerate it again against an empty SQLite database."""
    for old in (MIGRATIONS_DIR / service / "versions").glob("*_0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'empty.db'}"
        command.revision(alembic_config(service, url), message="initial", autogenerate=True, rev_id="0001")


if __name__ == "__main__":
    main(sys.argv[1])
