"""cases.sla_paused_at: the resolution clock pauses while a case waits on the customer

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 04:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shared.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("sla_paused_at", shared.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("sla_paused_at")
