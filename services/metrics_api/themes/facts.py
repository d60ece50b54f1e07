"""Comments become text facts at ingest: language, sentiment, the response's NPS score and the themes they carry.

Each response event replaces its comments like its score facts (the old ones and their tags are subtracted
from the theme rollup, the new ones added), in the event's transaction. An erased contact's comments are
deleted, not anonymised: the text is personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, exists, insert
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.models import HISTOGRAM_COLUMNS
from services.metrics_api.rollups import _accumulate, _grains, _rows
from services.metrics_api.sql import ancestors, one_of, upsert_adding
from services.metrics_api.themes.matching import Codebook, fold, language_of
from services.metrics_api.themes.models import CommentFact, Theme, ThemeFact, ThemeRollup
from services.metrics_api.themes.sentiment import sentiment_of
from shared.consumer import Received
from shared.events import ContactErasedData, ResponseData

COMMENTS: Table = CommentFact.__table__  # type: ignore[attr-defined]
TAGS: Table = ThemeFact.__table__  # type: ignore[attr-defined]
THEME_ROLLUP: Table = ThemeRollup.__table__  # type: ignore[attr-defined]
THEMES: Table = Theme.__table__  # type: ignore[attr-defined]
ROLLUP_KEY = ("org", "unit", "grain", "day", "audience", "purpose", "survey_id", "question", "code")
SENTIMENTS = ("positive", "neutral", "negative")
ROLLUP_COUNTS = (*HISTOGRAM_COLUMNS, "n", "comments", *SENTIMENTS, "unscored")
ALL_COMMENTS = ""  # the rollup code counting every comment of a question
MAX_TEXT = 10_000
ROLLUP_DIMS = ("org", "unit", "day", "audience", "purpose", "survey_id", "question", "nps", "sentiment")


def nps_score(data: ResponseData) -> int | None:
    """The response's NPS score (its first NPS question answered 0..10), if any."""
    for question in data.questions:
        value = data.answers.get(question.key)
        if question.kind == "nps" and type(value) is int and 0 <= value <= 10:
            return value
    return None


def comment_facts_of(data: ResponseData, context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The comment facts of a finished response (its `text` answers), given the facts' common `context`."""
    language = language_of(data.language) or language_of(data.default_language)
    nps = nps_score(data)
    rows = []
    for question in {q.key: q for q in data.questions}.values():
        value = data.answers.get(question.key)
        if question.kind != "text" or not isinstance(value, str) or not value.strip():
            continue
        text = value.strip()[:MAX_TEXT]
        feeling = sentiment_of(text, language)
        row = dict(context) | {"question": question.key, "language": language, "text": text, "folded": fold(text)}
        row |= {"nps": nps, "sentiment": feeling.label, "sentiment_score": feeling.score}
        rows.append(row | {"sentiment_reason": feeling.reason})
    return rows


def themed(response_id: Any, org: str, code: str) -> ColumnElement[bool]:
    """SQL: the response in `response_id` has a comment carrying theme `code`."""
    tagged = exists().where(TAGS.c.response_id == response_id, TAGS.c.org == org, TAGS.c.code == code)
    return tagged


class ThemeDeltas:
    """Changes to the theme rollup, summed in memory per row key."""

    def __init__(self) -> None:
        self.rows: dict[tuple[Any, ...], list[int]] = {}

    def add(self, comment: Mapping[str, Any], code: str, sign: int) -> None:
        """Add (sign 1) or remove (-1) one comment under `code` at every ancestor, day and month."""
        vector = [0] * len(ROLLUP_COUNTS)
        if comment["nps"] is not None:
            vector[comment["nps"]] = vector[11] = sign
        vector[12] = sign
        feeling = comment["sentiment"]
        vector[13 + SENTIMENTS.index(feeling) if feeling in SENTIMENTS else 16] = sign
        who = (comment["audience"], comment["purpose"], comment["survey_id"], comment["question"], code)
        for node in ancestors(comment["unit"]):
            for grain, day in _grains(comment["day"]):
                _accumulate(self.rows, (comment["org"], node, grain, day, *who), vector)

    def add_tagged(self, comment: Mapping[str, Any], codes: Iterable[str], sign: int) -> None:
        """Add or remove a comment: among all comments and under each of its codes."""
        for code in (ALL_COMMENTS, *codes):
            self.add(comment, code, sign)

    async def apply(self, session: AsyncSession) -> None:
        """One adding upsert, rows in key order."""
        rows = _rows(self.rows, ROLLUP_KEY, ROLLUP_COUNTS)
        await upsert_adding(session, THEME_ROLLUP, rows, key=ROLLUP_KEY, add=ROLLUP_COUNTS)


async def codebooks(session: AsyncSession, orgs: Sequence[str]) -> dict[str, Codebook]:
    """The compiled codebook of each of these orgs."""
    query = select(THEMES.c.org, THEMES.c.code, THEMES.c.words).where(one_of(THEMES.c.org, sorted(set(orgs))))
    found: dict[str, list[tuple[str, Mapping[str, Sequence[str]]]]] = {org: [] for org in orgs}
    for org, code, words in (await session.exec(query)).all():
        found[org].append((code, words))
    return {org: Codebook.of(themes) for org, themes in found.items()}


async def _remove(session: AsyncSession, where: list[Any], deltas: ThemeDeltas) -> None:
    """Delete the comments matching `where` (on the comment facts) and their tags, counting them out."""
    old = (await session.exec(select(*(COMMENTS.c[c] for c in ("response_id", *ROLLUP_DIMS))).where(*where))).all()
    if not old:
        return
    keys = {(row.response_id, row.question) for row in old}
    ids = sorted({row.response_id for row in old})
    tags: dict[tuple[str, str], list[str]] = {}
    for chunk in range(0, len(ids), 1000):
        tagged = select(TAGS.c.response_id, TAGS.c.question, TAGS.c.code).where(
            TAGS.c.response_id.in_(ids[chunk : chunk + 1000])
        )
        for response_id, question, code in (await session.exec(tagged)).all():
            if (response_id, question) in keys:
                tags.setdefault((response_id, question), []).append(code)
    for row in old:
        deltas.add_tagged(row._mapping, tags.get((row.response_id, row.question), []), -1)
    for chunk in range(0, len(ids), 1000):
        await session.exec(delete(TAGS).where(TAGS.c.response_id.in_(ids[chunk : chunk + 1000])))
    await session.exec(delete(COMMENTS).where(*where))


async def replace_comments(session: AsyncSession, ids: Sequence[str], comments: list[dict[str, Any]]) -> None:
    """Replace the comments of these responses with `comments`, tagged with their org's codebook."""
    deltas = ThemeDeltas()
    for chunk in range(0, len(ids), 1000):
        await _remove(session, [COMMENTS.c.response_id.in_(ids[chunk : chunk + 1000])], deltas)
    books = await codebooks(session, [c["org"] for c in comments]) if comments else {}
    tags = []
    for comment in comments:
        codes = books[comment["org"]].codes(comment["folded"], comment["language"])
        deltas.add_tagged(comment, codes, 1)
        tags += [{k: comment[k] for k in ("response_id", "question", "org")} | {"code": code} for code in codes]
    if comments:
        await session.exec(insert(COMMENTS), params=comments)
    if tags:
        await session.exec(insert(TAGS), params=tags)
    await deltas.apply(session)


async def erase_comments(session: AsyncSession, org: str, contact_id: str, response_ids: Sequence[str]) -> None:
    """Delete an erased contact's comments (by contact, and by the responses named) and their tags."""
    deltas = ThemeDeltas()
    await _remove(session, [COMMENTS.c.org == org, COMMENTS.c.contact_id == contact_id], deltas)
    ids = sorted(set(response_ids))
    for chunk in range(0, len(ids), 1000):
        where = [COMMENTS.c.org == org, COMMENTS.c.response_id.in_(ids[chunk : chunk + 1000])]
        await _remove(session, where, deltas)
    await deltas.apply(session)


async def apply_erasures(session: AsyncSession, events: list[Received[ContactErasedData]]) -> None:
    """Delete the comments of each erased contact."""
    for received in events:
        data = received.data
        await erase_comments(session, received.envelope.org, data.contact_id, data.response_ids)
