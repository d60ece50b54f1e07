"""Rollups: additive histograms per unit ancestor, day or month and a coarse dimension, kept equal to the facts.

Ingest aggregates a batch's changes in memory (`RollupDeltas`: minus the replaced facts, plus the new ones)
and writes them with one adding upsert per rollup table. `rebuild_rollups` recounts them from the facts.
Rows whose counts fall to zero stay (an upsert cannot delete); readers only ever sum them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Table, bindparam, case, cast, delete, func, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.models import (
    HISTOGRAM_COLUMNS,
    SCORES,
    InvitationFact,
    KindRollup,
    MetricsTable,
    OrgSettingsRow,
    QuestionRollup,
    ReasonFact,
    ReasonRollup,
    ReasonScoreRollup,
    ResponseRollup,
    ScoreFact,
)
from services.metrics_api.schemas import MetricsOrgSettings
from services.metrics_api.sql import ancestors, parent_path, upsert_adding
from shared.org_settings import load_org_settings

logger = logging.getLogger("cxloop.metrics.rollups")

KIND_TABLE: Table = KindRollup.__table__  # type: ignore[attr-defined]
QUESTION_TABLE: Table = QuestionRollup.__table__  # type: ignore[attr-defined]
RESPONSE_TABLE: Table = ResponseRollup.__table__  # type: ignore[attr-defined]
REASON_TABLE: Table = ReasonRollup.__table__  # type: ignore[attr-defined]
REASON_SCORE_TABLE: Table = ReasonScoreRollup.__table__  # type: ignore[attr-defined]
ROLLUP_TABLES = (KIND_TABLE, QUESTION_TABLE, RESPONSE_TABLE, REASON_TABLE, REASON_SCORE_TABLE)
FACTS: Table = ScoreFact.__table__  # type: ignore[attr-defined]
REASON_FACTS: Table = ReasonFact.__table__  # type: ignore[attr-defined]
KIND_KEY = ("org", "unit", "grain", "day", "audience", "purpose", "kind", "scale_min", "scale_max")
QUESTION_KEY = (
    *("org", "unit", "grain", "day", "audience", "purpose"),
    *("survey_id", "question", "kind", "scale_min", "scale_max"),
)
RESPONSE_KEY = ("org", "unit", "grain", "day", "audience", "purpose")
REASON_KEY = ("org", "unit", "grain", "day", "audience", "purpose", "code")
REASON_SCORE_KEY = ("org", "unit", "grain", "day", "audience", "purpose", "survey_id", "question", "code")
COUNT_COLUMNS = (*HISTOGRAM_COLUMNS, "n")
UPDATE_CHUNK = 1000


DIMENSIONS = ("org", "unit", "day", "audience", "purpose", "survey_id", "question", "kind", "scale_min", "scale_max")
# Who answered and why: every rollup row belongs to one audience (customers, employees) and purpose
# (standard, followup), so customer figures never mix with employees' and follow-ups stay out of the org's.
Population = tuple[str, str]


@dataclass(frozen=True)
class FactDims:
    """What a rollup needs of a fact (or of a group of equal facts): its coarse dimensions."""

    org: str
    unit: str
    day: dt.date
    audience: str
    purpose: str
    survey_id: str
    question: str
    kind: str
    scale_min: int
    scale_max: int


def _grains(day: dt.date) -> tuple[tuple[str, dt.date], tuple[str, dt.date]]:
    """The day row and the month row a fact of `day` counts in."""
    return ("d", day), ("m", day.replace(day=1))


class RollupDeltas:
    """The changes a batch makes to the rollup tables, summed in memory per row key."""

    def __init__(self) -> None:
        self.kind: dict[tuple[Any, ...], list[int]] = {}
        self.question: dict[tuple[Any, ...], list[int]] = {}
        self.responses: dict[tuple[Any, ...], list[int]] = {}
        self.reasons: dict[tuple[Any, ...], list[int]] = {}
        self.reason_scores: dict[tuple[Any, ...], list[int]] = {}

    def add(self, dims: FactDims, counts: Iterable[int], sign: int = 1) -> None:
        """Add (sign 1) or remove (sign -1) `counts` (per score 0..10) at every ancestor, day and month."""
        vector = [sign * c for c in counts]
        vector.append(sum(vector))
        scale = (dims.kind, dims.scale_min, dims.scale_max)
        who = (dims.audience, dims.purpose)
        for unit in ancestors(dims.unit):
            for grain, day in _grains(dims.day):
                _accumulate(self.kind, (dims.org, unit, grain, day, *who, *scale), vector)
                question = (dims.survey_id, dims.question, *scale)
                _accumulate(self.question, (dims.org, unit, grain, day, *who, *question), vector)

    def add_score(self, dims: FactDims, score: int, sign: int) -> None:
        """Add or remove one answer with `score`."""
        self.add(dims, (1 if s == score else 0 for s in SCORES), sign)

    def add_responses(self, org: str, unit: str, day: dt.date, who: Population, count: int) -> None:
        """Add (count > 0) or remove responses with a scored answer, at every ancestor, day and month."""
        for node in ancestors(unit):
            for grain, start in _grains(day):
                _accumulate(self.responses, (org, node, grain, start, *who), [count])

    def add_reasons(self, org: str, unit: str, day: dt.date, who: Population, code: str, count: int) -> None:
        """Add (count > 0) or remove citations of reason `code`, at every ancestor, day and month."""
        for node in ancestors(unit):
            for grain, start in _grains(day):
                _accumulate(self.reasons, (org, node, grain, start, *who, code), [count])

    def add_reason_score(self, cited: FactDims, code: str, score: int, count: int) -> None:
        """Add (count > 0) or remove NPS answers with `score` of responses citing `code` (`cited.question`: the
        reasons question), at every ancestor, day and month."""
        vector = [count if s == score else 0 for s in SCORES] + [count]
        for node in ancestors(cited.unit):
            for grain, start in _grains(cited.day):
                who = (cited.audience, cited.purpose)
                key = (cited.org, node, grain, start, *who, cited.survey_id, cited.question, code)
                _accumulate(self.reason_scores, key, vector)

    def rows(self) -> list[tuple[Table, tuple[str, ...], tuple[str, ...], list[dict[str, Any]]]]:
        """Per rollup table: its key, its count columns and its non-zero delta rows in key order."""
        return [
            (KIND_TABLE, KIND_KEY, COUNT_COLUMNS, _rows(self.kind, KIND_KEY, COUNT_COLUMNS)),
            (QUESTION_TABLE, QUESTION_KEY, COUNT_COLUMNS, _rows(self.question, QUESTION_KEY, COUNT_COLUMNS)),
            (RESPONSE_TABLE, RESPONSE_KEY, ("n",), _rows(self.responses, RESPONSE_KEY, ("n",))),
            (REASON_TABLE, REASON_KEY, ("n",), _rows(self.reasons, REASON_KEY, ("n",))),
            (
                REASON_SCORE_TABLE,
                REASON_SCORE_KEY,
                COUNT_COLUMNS,
                _rows(self.reason_scores, REASON_SCORE_KEY, COUNT_COLUMNS),
            ),
        ]

    async def apply(self, session: AsyncSession) -> None:
        """One adding upsert per rollup table, rows in key order (concurrent batches lock rows in one order)."""
        for table, key, counts, rows in self.rows():
            await upsert_adding(session, table, rows, key=key, add=counts)


def _accumulate(target: dict[tuple[Any, ...], list[int]], key: tuple[Any, ...], vector: list[int]) -> None:
    current = target.get(key)
    if current is None:
        target[key] = list(vector)
    else:
        for i, value in enumerate(vector):
            current[i] += value


def _rows(
    deltas: dict[tuple[Any, ...], list[int]], key: tuple[str, ...], columns: tuple[str, ...]
) -> list[dict[str, Any]]:
    rows = []
    for values in sorted(deltas):
        counts = deltas[values]
        if any(counts):
            row = dict(zip(key, values, strict=True))
            row.update(zip(columns, counts, strict=True))
            row["parent"] = parent_path(row["unit"])
            rows.append(row)
    return rows


def histogram_sums(table: Table) -> list[Any]:
    """`SUM(CASE WHEN score = k THEN 1 ELSE 0 END) AS hk` for k in 0..10, over a facts table."""
    return [func.sum(case((table.c.score == s, 1), else_=0)).label(f"h{s}") for s in SCORES]


async def org_zone(session: AsyncSession, org: str) -> ZoneInfo:
    """The org's time zone (metrics setting `timezone`)."""
    settings = await load_org_settings(session, table=OrgSettingsRow, model=MetricsOrgSettings, org=org)
    return ZoneInfo(settings.timezone)


async def _orgs(session: AsyncSession) -> list[str]:
    found: set[str] = set()
    for table in (FACTS, *ROLLUP_TABLES):
        found |= set((await session.exec(select(table.c.org).distinct())).all())
    return sorted(found)


async def _redate(
    session: AsyncSession, org: str, zone: ZoneInfo, model: type[MetricsTable], names: tuple[str, ...]
) -> int:
    """Recompute the day column of `model`'s rows of `org` from their time, in `zone`; how many changed.

    PostgreSQL does it in one UPDATE (its time zone database is IANA's too), so 10 M facts never travel into
    Python; SQLite, which has no time zones, reads them and writes back the changed ones in chunks.
    """
    table: Table = model.__table__  # type: ignore[attr-defined]
    id_name, time_name, day_name = names
    if session.get_bind().dialect.name == "postgresql":
        local_day = cast(func.timezone(zone.key, table.c[time_name]), Date)
        changed = update(table).where(table.c.org == org, table.c[day_name] != local_day).values({day_name: local_day})
        result: Any = await session.exec(changed)  # type: ignore[call-overload]
        return int(result.rowcount)
    query = select(table.c[id_name], table.c[time_name], table.c[day_name]).where(table.c.org == org).distinct()
    changes = []
    for row_id, instant, day in (await session.exec(query)).all():
        new_day = instant.astimezone(zone).date()
        if new_day != day:
            changes.append({"row_id": row_id, "new_day": new_day})
    statement = update(table).where(table.c[id_name] == bindparam("row_id")).values({day_name: bindparam("new_day")})
    for start in range(0, len(changes), UPDATE_CHUNK):
        await session.exec(statement, params=changes[start : start + UPDATE_CHUNK])
    return len(changes)


async def _recount(session: AsyncSession, org: str) -> RollupDeltas:
    """The rollups of `org` recounted from its facts: one aggregate, expanded to ancestors and months here."""
    dims = [FACTS.c[name] for name in DIMENSIONS[1:]]
    query = select(*dims, *histogram_sums(FACTS)).where(FACTS.c.org == org).group_by(*dims)
    deltas = RollupDeltas()
    for row in (await session.exec(query)).all():
        deltas.add(FactDims(org, *row[: len(dims)]), row[len(dims) :])
    # A response's score facts share its unit, day, audience and purpose: distinct responses per those add up.
    per_response: list[Any] = [*dims[:4], func.count(func.distinct(FACTS.c.response_id))]
    responses = select(*per_response)
    for unit, day, audience, purpose, count in (
        await session.exec(responses.where(FACTS.c.org == org).group_by(*dims[:4]))
    ).all():
        deltas.add_responses(org, unit, day, (audience, purpose), count)
    r = REASON_FACTS.c
    reason_dims: list[Any] = [r.unit, r.day, r.audience, r.purpose, r.code]
    reasons = select(*reason_dims, *[func.count()]).where(r.org == org).group_by(*reason_dims)
    for unit, day, audience, purpose, code, count in (await session.exec(reasons)).all():
        deltas.add_reasons(org, unit, day, (audience, purpose), code, count)
    await _recount_reason_scores(session, org, deltas)
    return deltas


async def _recount_reason_scores(session: AsyncSession, org: str, deltas: RollupDeltas) -> None:
    """The reason x NPS score rollup of `org`: reason facts joined to their response's NPS facts, aggregated."""
    r = REASON_FACTS.c
    dims: list[Any] = [r.unit, r.day, r.audience, r.purpose, r.survey_id, r.question, r.code, FACTS.c.score]
    joined = REASON_FACTS.join(FACTS, (FACTS.c.response_id == r.response_id) & (FACTS.c.kind == "nps"))
    query = select(*dims, *[func.count()]).select_from(joined).where(r.org == org).group_by(*dims)
    for unit, day, audience, purpose, survey_id, question, code, score, count in (await session.exec(query)).all():
        cited = FactDims(org, unit, day, audience, purpose, survey_id, question, "reasons", 0, 0)
        deltas.add_reason_score(cited, code, score, count)


async def rebuild_rollups(session: AsyncSession, org: str | None = None) -> dict[str, int]:
    """Recompute the rollups of one org (or every org) from the facts, after re-dating the facts in the org's
    current time zone (so a changed `timezone` setting applies to the past too). Returns rows written per org.
    """
    written: dict[str, int] = {}
    for name in [org] if org is not None else await _orgs(session):
        zone = await org_zone(session, name)
        await _redate(session, name, zone, ScoreFact, ("response_id", "submitted_at", "day"))
        await _redate(session, name, zone, ReasonFact, ("response_id", "submitted_at", "day"))
        await _redate(session, name, zone, InvitationFact, ("invitation_id", "invited_at", "invited_day"))
        for table in ROLLUP_TABLES:
            await session.exec(delete(table).where(table.c.org == name))
        deltas = await _recount(session, name)
        await deltas.apply(session)
        written[name] = len(deltas.kind) + len(deltas.question) + len(deltas.responses) + len(deltas.reasons)
        written[name] += len(deltas.reason_scores)
        logger.info("rebuilt the rollups of %s: %d rows", name, written[name])
    return written
