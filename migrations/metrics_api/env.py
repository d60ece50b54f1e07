"""Alembic environment of metrics_api: its own tables, its own history."""

from services.metrics_api.models import MetricsTable
from services.metrics_api.themes import models as _themes  # noqa: F401  (its tables join the metadata)
from shared.migrate import run_env

run_env(MetricsTable.metadata)
