"""outcome facts: partners' business outcomes of contacts, for value linkage

Revision ID: 20261202_outcomes
Revises: trust_0003
Create Date: 2026-12-02 07:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import shared.db

revision: str = '20261202_outcomes'
down_revision: str | None = 'trust_0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outcome_facts',
    sa.Column('outcome_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('org', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('contact_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('occurred_at', shared.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('outcome_id', name=op.f('pk_outcome_facts'))
    )
    with op.batch_alter_table('outcome_facts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_outcome_facts_contact', ['org', 'contact_id', 'kind', 'occurred_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('outcome_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_outcome_facts_contact')
    op.drop_table('outcome_facts')
