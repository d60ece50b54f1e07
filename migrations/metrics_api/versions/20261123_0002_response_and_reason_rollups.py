"""response and reason rollups: the scorecard's response count and top reasons without reading the facts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 04:10:00.000000+00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('rollup_response',
    sa.Column('org', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('grain', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('parent', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('org', 'unit', 'grain', 'day', name=op.f('pk_rollup_response'))
    )
    op.create_table('rollup_reason',
    sa.Column('org', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('grain', sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('parent', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('org', 'unit', 'grain', 'day', 'code', name=op.f('pk_rollup_reason'))
    )
    _backfill()


def _ancestors(unit: str) -> list[str]:
    """`emea/de` → `["", "emea", "emea/de"]` (as `services.metrics_api.sql.ancestors`, frozen here)."""
    parts = unit.split("/") if unit else []
    return ["", *("/".join(parts[: i + 1]) for i in range(len(parts)))]


def _parent(unit: str) -> str | None:
    return None if not unit else unit.rpartition("/")[0]


def _spread(found: dict[tuple, int], org: str, unit: str, day: dt.date, tail: tuple, n: int) -> None:
    """Add `n` at every ancestor of `unit`, on the day row and the month row."""
    for node in _ancestors(unit):
        for grain, start in (("d", day), ("m", day.replace(day=1))):
            key = (org, node, grain, start, *tail)
            found[key] = found.get(key, 0) + n


def _backfill() -> None:
    """Count the facts already stored into both new rollups (what `cxloop metrics rebuild` would write)."""
    bind = op.get_bind()
    responses: dict[tuple, int] = {}
    query = "SELECT org, unit, day, count(DISTINCT response_id) FROM score_facts GROUP BY org, unit, day"
    for org, unit, day, n in bind.execute(sa.text(query)):
        _spread(responses, org, unit, _date(day), (), n)
    reasons: dict[tuple, int] = {}
    query = "SELECT org, unit, day, code, count(*) FROM reason_facts GROUP BY org, unit, day, code"
    for org, unit, day, code, n in bind.execute(sa.text(query)):
        _spread(reasons, org, unit, _date(day), (code,), n)
    names = ("org", "unit", "grain", "day")
    for table, found, key in (("rollup_response", responses, names), ("rollup_reason", reasons, (*names, "code"))):
        rows = [dict(zip(key, k)) | {"parent": _parent(k[1]), "n": n} for k, n in sorted(found.items())]
        types = {"day": sa.Date(), "n": sa.Integer()}
        columns = [sa.column(name, types.get(name, sa.String())) for name in (*key, "parent", "n")]
        if rows:
            op.bulk_insert(sa.table(table, *columns), rows)


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def downgrade() -> None:
    op.drop_table('rollup_reason')
    op.drop_table('rollup_response')
