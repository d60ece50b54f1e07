"""Root causes across cases: how often each code closes a case, where, when, and whether it is rising.

A case counts in the period it was closed in (`closed_at`), with every code it carries (a case may carry
several, so shares may add up to more than 100). Codes are JSON lists that SQLite cannot unnest, so the
(unit, touchpoint, closed_at, codes) of the closed cases of this period and the previous one are read
(bounded) and counted here. Rising: the share grew against the previous period of equal length and a
two-proportion z-test (scipy) gives p < 0.05.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from scipy.stats import norm
from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.filters import visible
from services.loop_api.models import Case
from services.loop_api.root_causes.schemas import (
    PreviousPeriod,
    RootCauseGroup,
    RootCauseStat,
    RootCauseStats,
    StatsBy,
)
from shared.auth import Principal
from shared.db import in_subtrees
from shared.errors import invalid

MAX_CASES = 200_000
SIGNIFICANCE = 0.05
ClosedCase = tuple[str | None, str | None, dt.datetime, list[str]]


def _share(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def two_proportion_p(x_1: int, n_1: int, x_2: int, n_2: int) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test; None when a sample is empty or has no variance."""
    if not n_1 or not n_2:
        return None
    pooled = (x_1 + x_2) / (n_1 + n_2)
    variance = pooled * (1 - pooled) * (1 / n_1 + 1 / n_2)
    if variance <= 0:
        return None
    z = (x_1 / n_1 - x_2 / n_2) / math.sqrt(variance)
    return float(2 * norm.sf(abs(z)))


def _group_key(case: ClosedCase, by: StatsBy) -> str | None:
    unit, touchpoint, closed_at, _ = case
    if by == "unit":
        return unit
    if by == "touchpoint":
        return touchpoint
    return closed_at.astimezone(dt.UTC).strftime("%Y-%m")


def _groups(code: str, cases: Sequence[ClosedCase], by: StatsBy | None) -> list[RootCauseGroup]:
    if by is None:
        return []
    closed: Counter[str | None] = Counter(_group_key(c, by) for c in cases)
    carrying: Counter[str | None] = Counter(_group_key(c, by) for c in cases if code in c[3])
    keys = sorted((k for k in carrying), key=lambda k: (-carrying[k], k or ""))
    return [
        RootCauseGroup(key=k, cases=carrying[k], closed_cases=closed[k], share_pct=_share(carrying[k], closed[k]))
        for k in keys
    ]


def _stat(code: str, current: Sequence[ClosedCase], counts: tuple[int, int], by: StatsBy | None) -> RootCauseStat:
    now_cases, before_cases = counts
    return RootCauseStat(
        code=code,
        cases=now_cases,
        share_pct=_share(now_cases, len(current)),
        previous=PreviousPeriod(cases=before_cases, share_pct=None),
        change_pct=None,
        p_value=None,
        rising=False,
        groups=_groups(code, current, by),
    )


def _compare(stat: RootCauseStat, closed: int, previous_closed: int) -> RootCauseStat:
    before = stat.previous.cases
    stat.previous.share_pct = _share(before, previous_closed)
    if stat.share_pct is not None and stat.previous.share_pct is not None:
        stat.change_pct = stat.share_pct - stat.previous.share_pct
    stat.p_value = two_proportion_p(stat.cases, closed, before, previous_closed)
    grew = stat.change_pct is not None and stat.change_pct > 0
    stat.rising = grew and stat.p_value is not None and stat.p_value < SIGNIFICANCE
    return stat


async def _closed_cases(
    session: AsyncSession, principal: Principal, start: dt.datetime, end: dt.datetime, unit: str | None
) -> list[ClosedCase]:
    columns = (col(Case.unit), col(Case.touchpoint_id), col(Case.closed_at), col(Case.root_causes))
    base: Any = select(*columns)
    statement: Any = visible(base, principal).where(
        col(Case.status) == "closed", col(Case.closed_at) >= start, col(Case.closed_at) < end
    )
    if unit is not None:
        statement = statement.where(in_subtrees(col(Case.unit), [unit]))
    rows = (await session.exec(statement.limit(MAX_CASES + 1))).all()
    if len(rows) > MAX_CASES:
        raise invalid("from", f"more than {MAX_CASES} closed cases in range; narrow from/to", "too_many")
    return [(u, t, closed_at, list(codes or [])) for u, t, closed_at, codes in rows]


async def root_cause_stats(
    *,
    session: AsyncSession,
    principal: Principal,
    start: dt.datetime,
    end: dt.datetime,
    by: StatsBy | None,
    unit: str | None = None,
) -> RootCauseStats:
    """Per code: the caller's cases closed in [start, end) with it, its share, per group, and the change."""
    previous_start = start - (end - start)
    cases = await _closed_cases(session, principal, previous_start, end, unit)
    current = [c for c in cases if c[2] >= start]
    previous = [c for c in cases if c[2] < start]
    now_counts = Counter(code for c in current for code in set(c[3]))
    before_counts: defaultdict[str, int] = defaultdict(int, Counter(code for c in previous for code in set(c[3])))
    items = [
        _compare(_stat(code, current, (count, before_counts[code]), by), len(current), len(previous))
        for code, count in sorted(now_counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return RootCauseStats(
        start=start,
        end=end,
        previous_start=previous_start,
        by=by,
        closed_cases=len(current),
        previous_closed_cases=len(previous),
        rising=[item.code for item in items if item.rising],
        items=items,
    )
