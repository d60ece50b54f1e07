"""action plans keep their latest measured effect

Revision ID: lead_plan_effect
Revises: 20261202_plans
Create Date: 2026-12-02 12:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import shared.db

revision: str = "lead_plan_effect"
down_revision: str | None = "20261202_plans"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("action_plans") as batch:
        batch.add_column(sa.Column("latest_effect", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True))
        batch.add_column(sa.Column("effect_measured_at", shared.db.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_plans") as batch:
        batch.drop_column("effect_measured_at")
        batch.drop_column("latest_effect")
