"""cases.followup_*: the follow-up invitation survey_api made for a closed case, and its status

Revision ID: trustlp_0003
Revises: 0002
Create Date: 2026-12-02 07:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sqlmodel

import shared.db

revision: str = "trustlp_0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("followup_invitation_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column("followup_status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))
        batch.add_column(sa.Column("followup_sent_at", shared.db.UTCDateTime(), nullable=True))
        batch.create_index("ix_cases_followup_invitation_id", ["followup_invitation_id"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_followup_invitation_id")
        batch.drop_column("followup_sent_at")
        batch.drop_column("followup_status")
        batch.drop_column("followup_invitation_id")
