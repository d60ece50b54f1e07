"""webhook_deliveries: one row per (webhook, event) (duplicates from crashed fan-outs removed first), no
next_attempt_at once settled; webhook_attempts: every attempt with its answer and duration

Revision ID: deliv_webhooks
Revises: front_people
Create Date: 2026-12-02 12:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.db

revision: str = "deliv_webhooks"
down_revision: str | None = "front_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Of the rows of one (webhook, event), keep the delivered one, else a pending one, else the first; drop the others.
_RANK = "CASE {t}.status WHEN 'delivered' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END"
DEDUPE = f"""
DELETE FROM webhook_deliveries WHERE id IN (
    SELECT d.id FROM webhook_deliveries d WHERE EXISTS (
        SELECT 1 FROM webhook_deliveries k
        WHERE k.webhook_id = d.webhook_id AND k.event_id = d.event_id AND k.id <> d.id
          AND ({_RANK.format(t="k")} < {_RANK.format(t="d")}
               OR ({_RANK.format(t="k")} = {_RANK.format(t="d")} AND k.id < d.id))
    )
)
"""


def upgrade() -> None:
    op.execute(DEDUPE)
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.alter_column("next_attempt_at", existing_type=shared.db.UTCDateTime(timezone=True), nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f("uq_webhook_deliveries_webhook_id_event_id"), ["webhook_id", "event_id"]
        )
    op.execute("UPDATE webhook_deliveries SET next_attempt_at = NULL WHERE status <> 'pending'")
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("org", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("delivery_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("webhook_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", shared.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_attempts_delivery_id"), ["delivery_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_attempts_delivery_id"))
    op.drop_table("webhook_attempts")
    op.execute("UPDATE webhook_deliveries SET next_attempt_at = COALESCE(delivered_at, created_at) WHERE next_attempt_at IS NULL")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_webhook_deliveries_webhook_id_event_id"), type_="unique")
        batch_op.alter_column("next_attempt_at", existing_type=shared.db.UTCDateTime(timezone=True), nullable=False)
