"""audience and purpose on facts, rollups and targets: employee and follow-up answers kept apart

Every fact and rollup row belongs to one audience (`customers` | `employees`) and purpose (`standard` |
`followup`); the rollups' keys gain both. What is stored already was written before either was known and is
taken as customers/standard (re-sending a response's event corrects its facts). Targets gain an audience.

Revision ID: trust_0003
Revises: 0002
Create Date: 2026-12-02 06:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = 'trust_0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# rollup table → its primary key before this revision (audience, purpose go after `day`)
ROLLUPS = {
    'rollup_kind': ('org', 'unit', 'grain', 'day', 'kind', 'scale_min', 'scale_max'),
    'rollup_question': ('org', 'unit', 'grain', 'day', 'survey_id', 'question', 'kind', 'scale_min', 'scale_max'),
    'rollup_response': ('org', 'unit', 'grain', 'day'),
    'rollup_reason': ('org', 'unit', 'grain', 'day', 'code'),
}


def _columns() -> list[sa.Column]:
    return [
        sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default='customers'),
        sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default='standard'),
    ]


def upgrade() -> None:
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.add_column(_columns()[0])
    for table in ('score_facts', 'reason_facts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in _columns():
                batch_op.add_column(column)
    for table, key in ROLLUPS.items():
        with op.batch_alter_table(table, schema=None, recreate='always') as batch_op:
            for column in _columns():
                batch_op.add_column(column)
            batch_op.drop_constraint(f'pk_{table}', type_='primary')
            batch_op.create_primary_key(f'pk_{table}', [*key[:4], 'audience', 'purpose', *key[4:]])


def downgrade() -> None:
    for table, key in ROLLUPS.items():
        # the rows of employees and follow-ups would collide with the customers' ones under the old key
        op.execute(sa.text(f"DELETE FROM {table} WHERE audience <> 'customers' OR purpose <> 'standard'"))
        with op.batch_alter_table(table, schema=None, recreate='always') as batch_op:
            batch_op.drop_constraint(f'pk_{table}', type_='primary')
            batch_op.create_primary_key(f'pk_{table}', list(key))
            batch_op.drop_column('purpose')
            batch_op.drop_column('audience')
    for table in ('reason_facts', 'score_facts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('purpose')
            batch_op.drop_column('audience')
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_column('audience')
