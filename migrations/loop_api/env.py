"""Alembic environment of loop_api: its own tables, its own history."""

from services.loop_api.models import LoopTable
from shared.migrate import run_env

run_env(LoopTable.metadata)
