"""Reading notifications: the org's, filtered, limited to the caller's units."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.notifications.models import Notification
from shared.auth import Principal
from shared.db import in_subtrees
from shared.pagination import keyset, page_of


@dataclass(frozen=True)
class NotificationFilters:
    """Which notifications: each field narrows the list when set."""

    recipient: str | None = None
    kind: str | None = None
    status: str | None = None
    case_id: str | None = None


async def list_notifications(
    *, session: AsyncSession, principal: Principal, filters: NotificationFilters, limit: int, cursor: str | None
) -> tuple[list[Notification], str | None]:
    """A page of the org's notifications, oldest first; a unit-restricted caller's only about its units' cases."""
    statement = select(Notification).where(Notification.org == principal.org)
    if principal.units is not None:
        statement = statement.where(in_subtrees(col(Notification.unit), principal.units))
    for name in ("recipient", "kind", "status", "case_id"):
        value = getattr(filters, name)
        if value is not None:
            statement = statement.where(getattr(Notification, name) == value)
    rows = (await session.exec(keyset(statement, col(Notification.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda notification: notification.id)
