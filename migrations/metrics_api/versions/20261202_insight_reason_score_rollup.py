"""reason × NPS score rollup: reason impact (NPS with and without each reason) without reading the facts

Keyed by audience and purpose like every rollup (trust_0003), so employees and follow-ups stay apart.

Revision ID: 20261202_insight
Revises: 20261202_outcomes
Create Date: 2026-12-02 06:30:00.000000+00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '20261202_insight'
down_revision: str | None = '20261202_outcomes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("org", "unit", "grain", "day", "audience", "purpose", "survey_id", "question", "code")
COUNTS = tuple(f"h{s}" for s in range(11)) + ("n",)


def upgrade() -> None:
    op.create_table('rollup_reason_score',
    sa.Column('h0', sa.Integer(), nullable=False),
    sa.Column('h1', sa.Integer(), nullable=False),
    sa.Column('h2', sa.Integer(), nullable=False),
    sa.Column('h3', sa.Integer(), nullable=False),
    sa.Column('h4', sa.Integer(), nullable=False),
    sa.Column('h5', sa.Integer(), nullable=False),
    sa.Column('h6', sa.Integer(), nullable=False),
    sa.Column('h7', sa.Integer(), nullable=False),
    sa.Column('h8', sa.Integer(), nullable=False),
    sa.Column('h9', sa.Integer(), nullable=False),
    sa.Column('h10', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('org', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('grain', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('survey_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('question', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('parent', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.PrimaryKeyConstraint(*KEY, name=op.f('pk_rollup_reason_score'))
    )
    _backfill()


def _ancestors(unit: str) -> list[str]:
    """`emea/de` → `["", "emea", "emea/de"]` (as `services.metrics_api.sql.ancestors`, frozen here)."""
    parts = unit.split("/") if unit else []
    return ["", *("/".join(parts[: i + 1]) for i in range(len(parts)))]


def _parent(unit: str) -> str | None:
    return None if not unit else unit.rpartition("/")[0]


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _backfill() -> None:
    """Count the reason facts already stored, by their response's NPS score (what `cxloop metrics rebuild` writes)."""
    query = (
        "SELECT r.org, r.unit, r.day, r.audience, r.purpose, r.survey_id, r.question, r.code, s.score, count(*)"
        " FROM reason_facts r JOIN score_facts s ON s.response_id = r.response_id AND s.kind = 'nps'"
        " GROUP BY r.org, r.unit, r.day, r.audience, r.purpose, r.survey_id, r.question, r.code, s.score"
    )
    found: dict[tuple, list[int]] = {}
    for org, unit, day, audience, purpose, survey_id, question, code, score, n in op.get_bind().execute(sa.text(query)):
        start = _date(day)
        for node in _ancestors(unit):
            for grain, first in (("d", start), ("m", start.replace(day=1))):
                key = (org, node, grain, first, audience, purpose, survey_id, question, code)
                counts = found.setdefault(key, [0] * 12)
                counts[score] += n
                counts[11] += n
    rows = [dict(zip(KEY, k)) | dict(zip(COUNTS, v)) | {"parent": _parent(k[1])} for k, v in sorted(found.items())]
    types = {"day": sa.Date(), **{c: sa.Integer() for c in COUNTS}}
    columns = [sa.column(name, types.get(name, sa.String())) for name in (*KEY, *COUNTS, "parent")]
    if rows:
        op.bulk_insert(sa.table('rollup_reason_score', *columns), rows)


def downgrade() -> None:
    op.drop_table('rollup_reason_score')
