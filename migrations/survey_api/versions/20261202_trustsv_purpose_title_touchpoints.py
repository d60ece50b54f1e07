"""survey purpose and title; touchpoint status and stage position

Surveys gain `purpose` (`standard` | `followup`) and a per-language `title` (also frozen in each published
version). Surveys already serving as follow-ups — an org's `followup_survey_id`, or the built-in "Case
follow-up" survey — become `followup`. Touchpoints gain `status` (`active` | `retired`), `stage_position`
(where their stage stands in their journey) and `updated_at`.

Revision ID: trustsv_0002
Revises: 20261202_sec2
Create Date: 2026-12-02 07:20:00.000000+00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy import Text  # noqa: F401 - autogenerate renders JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

revision: str = 'trustsv_0002'
down_revision: str | None = "20261202_sec2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql')


def _mark_followups() -> None:
    """Surveys that already serve as follow-ups become `followup`: the built-in one and each org's choice."""
    bind = op.get_bind()
    surveys = sa.table('surveys', sa.column('id'), sa.column('org'), sa.column('name'), sa.column('purpose'))
    settings = sa.table('org_settings', sa.column('org'), sa.column('data', sa.JSON))
    op.execute(surveys.update().where(surveys.c.name == 'Case follow-up').values(purpose='followup'))
    for org, data in bind.execute(sa.select(settings.c.org, settings.c.data)).all():
        document = json.loads(data) if isinstance(data, str) else data
        chosen = (document or {}).get('followup_survey_id')
        if chosen:
            mine = (surveys.c.id == chosen) & (surveys.c.org == org)
            op.execute(surveys.update().where(mine).values(purpose='followup'))


def upgrade() -> None:
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', JSON, nullable=True))
        batch_op.add_column(
            sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default='standard')
        )
    with op.batch_alter_table('survey_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', JSON, nullable=True))
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage_position', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(
            sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default='active')
        )
    _mark_followups()


def downgrade() -> None:
    with op.batch_alter_table('touchpoints', schema=None) as batch_op:
        batch_op.drop_column('status')
        batch_op.drop_column('stage_position')
    with op.batch_alter_table('survey_versions', schema=None) as batch_op:
        batch_op.drop_column('title')
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_column('purpose')
        batch_op.drop_column('title')
