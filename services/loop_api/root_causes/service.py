"""The root-cause taxonomy: create, read, list and retire the org's root-cause codes.

There is no delete. Closed cases keep the code they were closed with, and reports group by it, so a code
that is no longer wanted is retired (`active = false`): it stays readable but can no longer be picked.
The tree stays whole: an active code never sits below a retired one.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.models import RootCause
from services.loop_api.root_causes.schemas import RootCauseCreate, RootCauseUpdate
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, NotFound, invalid
from shared.ids import new_id
from shared.pagination import keyset, page_of

MAX_DEPTH = 5
# A 409 names this many active children at most; the rest are counted, to keep the message readable.
MAX_NAMED_CHILDREN = 10


async def find_root_cause_by_code(
    session: AsyncSession, *, org: str, code: str, lock: bool = False
) -> RootCause | None:
    """The org's root cause with `code`, if there is one (row-locked on PostgreSQL when `lock`)."""
    statement = select(RootCause).where(RootCause.org == org, RootCause.code == code)
    if lock:
        statement = statement.with_for_update()
    return (await session.exec(statement)).first()


async def _parent_of_new(session: AsyncSession, *, org: str, data: RootCauseCreate) -> RootCause | None:
    """The existing parent a new code hangs below; 422 when missing or full, 409 when retired."""
    if data.parent_code is None:
        return None
    # Locked so that retiring the parent waits for this insert and then sees the new active child.
    parent = await find_root_cause_by_code(session, org=org, code=data.parent_code, lock=True)
    if parent is None:
        raise invalid(
            "parent_code", f"root cause {data.parent_code!r} does not exist; create it first", "parent_missing"
        )
    if parent.depth >= MAX_DEPTH:
        raise invalid("parent_code", f"the taxonomy is at most {MAX_DEPTH} levels deep", "too_deep")
    if data.active and not parent.active:
        raise Conflict(f"Parent {parent.code!r} is retired; reactivate it first or create this code inactive")
    return parent


async def create_root_cause(*, session: AsyncSession, principal: Principal, data: RootCauseCreate) -> RootCause:
    """Add a code below its existing parent (or as a root); 409 if the code is taken in the org."""
    parent = await _parent_of_new(session, org=principal.org, data=data)
    if await find_root_cause_by_code(session, org=principal.org, code=data.code) is not None:
        raise Conflict(f"A root cause with code {data.code!r} already exists")
    now = utcnow()  # one instant for both, so a never-changed code shows updated_at == created_at
    root_cause = RootCause(
        id=new_id("rc"),
        org=principal.org,
        code=data.code,
        parent_code=data.parent_code,
        depth=parent.depth + 1 if parent is not None else 1,
        label=dict(data.label),
        description=data.description,
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    session.add(root_cause)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent create of the same code won the race
        raise Conflict(f"A root cause with code {data.code!r} already exists") from exc
    return root_cause


async def get_root_cause(
    *, session: AsyncSession, principal: Principal, root_cause_id: str, lock: bool = False
) -> RootCause:
    """One root cause of the caller's org; 404 otherwise (another org's id included)."""
    root_cause = await session.get(RootCause, root_cause_id, with_for_update=lock or None)
    if root_cause is None or root_cause.org != principal.org:
        raise NotFound(f"No root cause {root_cause_id!r}")
    return root_cause


async def _ensure_no_active_children(session: AsyncSession, root_cause: RootCause) -> None:
    """409 naming the active children, which would otherwise hang below a retired code."""
    statement = (
        select(RootCause.code)
        .where(RootCause.org == root_cause.org, RootCause.parent_code == root_cause.code, col(RootCause.active))
        .order_by(col(RootCause.code))
        .limit(MAX_NAMED_CHILDREN + 1)
    )
    children = list((await session.exec(statement)).all())
    if not children:
        return
    named = ", ".join(children[:MAX_NAMED_CHILDREN]) + (" and more" if len(children) > MAX_NAMED_CHILDREN else "")
    raise Conflict(f"Cannot retire {root_cause.code!r} while it has active children: {named}; retire them first")


async def _ensure_parent_active(session: AsyncSession, root_cause: RootCause) -> None:
    """409 when reactivating a code whose parent is retired (the parent must come back first)."""
    if root_cause.parent_code is None:
        return
    # Locked so that this and a concurrent retirement of the parent cannot both pass their checks.
    parent = await find_root_cause_by_code(session, org=root_cause.org, code=root_cause.parent_code, lock=True)
    if parent is not None and not parent.active:
        raise Conflict(f"Cannot reactivate {root_cause.code!r}: its parent {parent.code!r} is retired")


async def update_root_cause(
    *, session: AsyncSession, principal: Principal, root_cause_id: str, data: RootCauseUpdate
) -> RootCause:
    """Change the label, description or active flag; retiring needs every child retired first."""
    root_cause = await get_root_cause(session=session, principal=principal, root_cause_id=root_cause_id, lock=True)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("active") is False and root_cause.active:
        await _ensure_no_active_children(session, root_cause)
    if changes.get("active") is True and not root_cause.active:
        await _ensure_parent_active(session, root_cause)
    changed = {name: value for name, value in changes.items() if getattr(root_cause, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(root_cause, name, value)
        root_cause.updated_at = utcnow()
        session.add(root_cause)
        await session.flush()
    return root_cause


async def list_root_causes(
    *,
    session: AsyncSession,
    principal: Principal,
    parent_code: str | None,
    active: bool | None,
    q: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[RootCause], str | None]:
    """A page of the org's root causes in creation order, optionally filtered."""
    statement = select(RootCause).where(RootCause.org == principal.org)
    if parent_code is not None:
        statement = statement.where(RootCause.parent_code == parent_code)
    if active is not None:
        statement = statement.where(RootCause.active == active)
    if q is not None:
        # autoescape: `_` and `%` in the query are literal characters of a code, not wildcards.
        statement = statement.where(col(RootCause.code).icontains(q, autoescape=True))
    rows = (await session.exec(keyset(statement, col(RootCause.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda root_cause: root_cause.id)
