"""Alembic environment of metrics_api: its own tables, its own history."""

from services.metrics_api.models import MetricsTable
from shared.migrate import run_env

run_env(MetricsTable.metadata)
