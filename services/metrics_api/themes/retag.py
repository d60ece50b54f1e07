"""Re-tagging past comments after a theme is created or changed: its old tags and rollup rows are deleted in
one statement each, then the org's comments are walked in key order, a chunk per transaction, matched against
the theme's words and tagged (with their rollup rows added).

A small org is re-tagged in the request; a large one (more than `INLINE_LIMIT` comments) in the background
after the answer, with `retag: {status, done, total}` on the theme showing the progress. A later change of the
theme (its `version`) stops an older re-tag; the theme row is locked per chunk so two never interleave.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, func, insert, tuple_, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.themes.facts import COMMENTS, TAGS, THEME_ROLLUP, THEMES, ThemeDeltas
from services.metrics_api.themes.matching import Codebook
from shared.db import Database

logger = logging.getLogger("cxloop.metrics.themes")

INLINE_LIMIT = 20_000
CHUNK = 5_000
COLUMNS = ("response_id", "question", "org", "unit", "day", "audience", "purpose", "survey_id", "nps", "sentiment")
Key = tuple[str, str]


async def clear(session: AsyncSession, org: str, code: str) -> None:
    """Delete a theme's tags and rollup rows."""
    await session.exec(delete(TAGS).where(TAGS.c.org == org, TAGS.c.code == code))
    await session.exec(delete(THEME_ROLLUP).where(THEME_ROLLUP.c.org == org, THEME_ROLLUP.c.code == code))


async def start(session: AsyncSession, org: str, code: str) -> int:
    """Clear a theme's tags and mark its re-tag started; how many comments it will scan."""
    await clear(session, org, code)
    total = int((await session.exec(select(func.count()).where(COMMENTS.c.org == org))).one())
    where = (THEMES.c.org == org, THEMES.c.code == code)
    await session.exec(update(THEMES).where(*where).values(retag_status="running", retag_done=0, retag_total=total))
    return total


async def chunk(session: AsyncSession, org: str, code: str, version: int, after: Key | None) -> Key | None:
    """Tag one chunk of comments after `after`; the last key (None when finished or the theme changed)."""
    where = (THEMES.c.org == org, THEMES.c.code == code)
    locked: Any = select(THEMES.c.version, THEMES.c.words).where(*where).with_for_update()
    theme = (await session.exec(locked)).first()
    if theme is None or theme.version != version:
        return None
    query: Any = select(*(COMMENTS.c[c] for c in (*COLUMNS, "folded", "language")))
    query = query.where(COMMENTS.c.org == org)
    if after is not None:
        query = query.where(tuple_(COMMENTS.c.response_id, COMMENTS.c.question) > tuple_(*after))
    rows = (await session.exec(query.order_by(COMMENTS.c.response_id, COMMENTS.c.question).limit(CHUNK))).all()
    book = Codebook.of([(code, theme.words)])
    matched = [row for row in rows if book.codes(row.folded, row.language)]
    await _tag(session, code, matched)
    done = THEMES.c.retag_done + len(rows)
    finished = len(rows) < CHUNK
    values: dict[str, Any] = {"retag_done": done} | ({"retag_status": "done"} if finished else {})
    await session.exec(update(THEMES).where(*where).values(values))
    return None if finished else (rows[-1].response_id, rows[-1].question)


async def _tag(session: AsyncSession, code: str, matched: list[Any]) -> None:
    """Tag the matched comments not tagged yet (ingest may have tagged a new one already) and count them."""
    if not matched:
        return
    ids = sorted({row.response_id for row in matched})
    held = select(TAGS.c.response_id, TAGS.c.question).where(TAGS.c.code == code, TAGS.c.response_id.in_(ids))
    tagged = {(r, q) for r, q in (await session.exec(held)).all()}
    fresh = [row for row in matched if (row.response_id, row.question) not in tagged]
    if not fresh:
        return
    deltas = ThemeDeltas()
    for row in fresh:
        deltas.add(row._mapping, code, 1)
    params = [{"response_id": r.response_id, "question": r.question, "org": r.org, "code": code} for r in fresh]
    await session.exec(insert(TAGS), params=params)
    await deltas.apply(session)


async def inline(session: AsyncSession, org: str, code: str, version: int) -> None:
    """Re-tag every comment of the org in this transaction."""
    after: Key | None = None
    while True:
        after = await chunk(session, org, code, version, after)
        if after is None:
            return


async def background(database: Database, org: str, code: str, version: int) -> None:
    """Re-tag every comment of the org, a chunk per transaction (run after the answer was sent)."""
    after: Key | None = None
    try:
        while True:
            async with database.sessions() as session:
                after = await chunk(session, org, code, version, after)
                await session.commit()
            if after is None:
                return
    except Exception:
        logger.exception("re-tagging %s of %s stopped; change the theme again to restart it", code, org)
