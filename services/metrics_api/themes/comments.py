"""`GET /v1/comments`: the comments of a text question with their language, sentiment and themes (customers'
answers only, inside the caller's units; no contact data)."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.metrics import resolve_scope
from services.metrics_api.sql import within
from services.metrics_api.themes.facts import COMMENTS, TAGS, themed
from shared.auth import Principal
from shared.pagination import keyset, page_of

SHOWN = ("response_id", "question", "survey_id", "unit", "submitted_at", "language", "text", "nps")


async def list_comments(
    *,
    session: AsyncSession,
    principal: Principal,
    survey_id: str,
    question: str,
    theme: str | None,
    unit: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a text question's comments by response id, optionally only those carrying `theme`."""
    scope = resolve_scope(principal, unit)
    c = COMMENTS.c
    columns = [*(c[name] for name in SHOWN), c.sentiment, c.sentiment_score, c.sentiment_reason]
    query = select(*columns).where(c.org == principal.org, within(c.unit, scope.roots), c.audience == "customers")
    query = query.where(c.survey_id == survey_id, c.question == question)
    if theme is not None:
        query = query.where(themed(c.response_id, principal.org, theme))
    rows = (await session.exec(keyset(query, c.response_id, limit=limit, cursor=cursor))).all()
    page, next_cursor = page_of(rows, limit=limit, key_of=lambda row: row.response_id)
    ids = [row.response_id for row in page]
    tags: dict[str, list[str]] = {}
    if ids:
        tagged = select(TAGS.c.response_id, TAGS.c.code).where(TAGS.c.response_id.in_(ids), TAGS.c.question == question)
        for response_id, code in (await session.exec(tagged.order_by(TAGS.c.code))).all():
            tags.setdefault(response_id, []).append(code)
    items = []
    for row in page:
        item = {name: getattr(row, name) for name in SHOWN} | {"themes": tags.get(row.response_id, [])}
        feeling = None
        if row.sentiment is not None:
            feeling = {"label": row.sentiment, "score": row.sentiment_score}
        items.append(item | {"sentiment": feeling, "sentiment_reason": row.sentiment_reason})
    return items, next_cursor
