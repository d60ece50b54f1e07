"""The codebook: create, read, change and delete an org's themes; a change of words re-tags past comments."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.themes import retag
from services.metrics_api.themes.models import Theme
from services.metrics_api.themes.schemas import Retag, ThemeCreate, ThemePublic, ThemeUpdate
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, NotFound
from shared.pagination import keyset, page_of


def public(theme: Theme) -> ThemePublic:
    """The wire form of a theme, with its re-tag progress."""
    status = "running" if theme.retag_status == "running" else "done"
    progress = Retag(status=status, done=theme.retag_done, total=theme.retag_total)
    return ThemePublic(
        code=theme.code,
        label=theme.label,
        words=theme.words,
        retag=progress,
        created_at=theme.created_at,
        updated_at=theme.updated_at,
    )


async def _retag(session: AsyncSession, theme: Theme) -> bool:
    """Start re-tagging past comments with the theme; True when it is left to the background (a large org)."""
    total = await retag.start(session, theme.org, theme.code)
    if total > retag.INLINE_LIMIT:
        return True
    await retag.inline(session, theme.org, theme.code, theme.version)
    return False


async def create_theme(*, session: AsyncSession, principal: Principal, data: ThemeCreate) -> tuple[Theme, bool]:
    """Add a theme (409 when its code exists) and tag past comments; whether that goes on in the background."""
    if await session.get(Theme, (principal.org, data.code)) is not None:
        raise Conflict(f"Theme {data.code!r} exists; change it with PATCH")
    now = utcnow()
    theme = Theme(org=principal.org, code=data.code, label=data.label, words=data.words, created_at=now, updated_at=now)
    session.add(theme)
    await session.flush()
    later = await _retag(session, theme)
    await session.refresh(theme)
    return theme, later


async def get_theme(*, session: AsyncSession, principal: Principal, code: str) -> Theme:
    """One theme of the caller's org; 404 otherwise."""
    theme = await session.get(Theme, (principal.org, code))
    if theme is None:
        raise NotFound(f"No theme {code!r}")
    return theme


async def update_theme(
    *, session: AsyncSession, principal: Principal, code: str, data: ThemeUpdate
) -> tuple[Theme, bool]:
    """Change a theme's label or words; new words re-tag past comments (and stop a re-tag under way)."""
    theme = await get_theme(session=session, principal=principal, code=code)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        return theme, False
    new_words = "words" in changes and changes["words"] != theme.words
    theme.sqlmodel_update(changes)
    theme.updated_at = utcnow()
    if new_words:
        theme.version += 1
    session.add(theme)
    await session.flush()
    later = await _retag(session, theme) if new_words else False
    await session.refresh(theme)
    return theme, later


async def delete_theme(*, session: AsyncSession, principal: Principal, code: str) -> None:
    """Remove a theme with its tags and rollup rows."""
    theme = await get_theme(session=session, principal=principal, code=code)
    await retag.clear(session, theme.org, theme.code)
    await session.delete(theme)
    await session.flush()


async def list_themes(
    *, session: AsyncSession, principal: Principal, limit: int, cursor: str | None
) -> tuple[list[Theme], str | None]:
    """A page of the org's themes by code."""
    statement = select(Theme).where(Theme.org == principal.org)
    rows = (await session.exec(keyset(statement, col(Theme.code), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda theme: theme.code)


async def labels(session: AsyncSession, org: str) -> dict[str, str]:
    """Each theme's label by code."""
    return {
        code: label
        for code, label in (await session.exec(select(Theme.code, Theme.label).where(Theme.org == org))).all()
    }
