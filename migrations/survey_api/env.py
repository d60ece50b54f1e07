"""Alembic environment of survey_api: its own tables, its own history."""

from services.survey_api.tables import SurveyTable
from shared.migrate import run_env

run_env(SurveyTable.metadata)
