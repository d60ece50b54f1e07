"""Per-org settings of one service: `GET/PUT /v1/org-settings` (scope `admin`) and a loader for domain code."""

# No `from __future__ import annotations`: FastAPI must see the concrete model types of the closures below.
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlmodel import Field, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.auth import Principal, require_scopes
from shared.db import JSONType, SessionDep, UTCDateTime, utcnow
from shared.errors import problem_responses

M = TypeVar("M", bound=BaseModel)
SettingsCheck = Callable[[AsyncSession, str, Any], Awaitable[None]]
"""A service's rules across its settings and its data (session, org, the new settings): raises a 4xx."""


class OrgSettingsFields(SQLModel):
    """Columns of a service's `org_settings` table: the org and its settings document."""

    org: str = Field(primary_key=True, max_length=100)
    data: dict[str, Any] = Field(sa_type=JSONType)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


async def load_org_settings(session: AsyncSession, *, table: type[OrgSettingsFields], model: type[M], org: str) -> M:
    """The org's settings, with defaults for anything it never set."""
    row = await session.get(table, org)
    return model.model_validate(row.data if row is not None else {})


def org_settings_router(
    *, table: type[OrgSettingsFields], model: type[M], check: SettingsCheck | None = None
) -> APIRouter:
    """The two routes that read and replace this service's settings for the caller's org (`check` vets a PUT)."""
    router = APIRouter(prefix="/v1/org-settings", tags=["org-settings"], responses=problem_responses(401, 403, 422))
    admin = Annotated[Principal, Depends(require_scopes("admin"))]

    async def get_org_settings(principal: admin, session: SessionDep) -> Any:
        """This service's settings for the caller's org (defaults where never set)."""
        return await load_org_settings(session, table=table, model=model, org=principal.org)

    async def put_org_settings(data: model, principal: admin, session: SessionDep) -> Any:  # type: ignore[valid-type]
        """Replace this service's settings for the caller's org."""
        if check is not None:
            await check(session, principal.org, data)
        row = await session.get(table, principal.org)
        document = data.model_dump(mode="json")  # type: ignore[attr-defined]
        if row is None:
            session.add(table(org=principal.org, data=document))
        else:
            row.data, row.updated_at = document, utcnow()
            session.add(row)
        await session.flush()
        return model.model_validate(document)

    router.add_api_route("", get_org_settings, methods=["GET"], response_model=model)
    router.add_api_route("", put_org_settings, methods=["PUT"], response_model=model)
    return router
