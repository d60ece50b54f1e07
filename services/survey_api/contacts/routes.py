"""`/v1/contacts`: the people who are surveyed — upsert on `external_id` (one or in bulk), read, list, erase."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from services.survey_api.contacts import directory, erasure
from services.survey_api.contacts.schemas import BulkResult, ContactBulk, ContactPublic, ContactUpsert
from services.survey_api.scopes import ContactReader, ContactWriter
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.schemas.common import Instant, UnitPath

router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/contacts", tags=["contacts"], responses=problem_responses(401, 403, 422)
)


@router.post(
    "",
    status_code=201,
    response_model=ContactPublic,
    responses={
        200: {"model": ContactPublic, "description": "The contact existed and was updated"},
        **problem_responses(409),
    },
)
async def upsert_contact(
    data: ContactUpsert, principal: ContactWriter, response: Response, session: IdempotentSession
) -> ContactPublic:
    """Create (201) or update (200) the contact with this `external_id`; fields left out keep their value."""
    contact, created = await directory.upsert_contact(session=session, principal=principal, data=data)
    response.status_code = 201 if created else 200
    return ContactPublic.model_validate(contact)


@router.post("/bulk", response_model=BulkResult, responses=problem_responses(409))
async def bulk_upsert_contacts(data: ContactBulk, principal: ContactWriter, session: IdempotentSession) -> BulkResult:
    """Upsert up to 10,000 contacts in order; each item succeeds or is rejected on its own, with its errors."""
    return await directory.bulk_upsert(session=session, principal=principal, items=data.items)


@router.get("", response_model=Page[ContactPublic])
async def list_contacts(
    principal: ContactReader,
    session: SessionDep,
    external_id: Annotated[str | None, Query(max_length=200, description="Only this external id")] = None,
    email: Annotated[str | None, Query(max_length=320, description="Only this email (any case)")] = None,
    unit: Annotated[UnitPath | None, Query(description="Only contacts of this unit and its subtree")] = None,
    updated_since: Annotated[Instant | None, Query(description="Only contacts updated at or after")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[ContactPublic]:
    """The org's contacts in creation order, a page at a time."""
    since: dt.datetime | None = updated_since
    items, next_cursor = await directory.list_contacts(
        session=session,
        principal=principal,
        external_id=external_id,
        email=email,
        unit=unit,
        updated_since=since,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[ContactPublic.model_validate(c) for c in items], next_cursor=next_cursor)


@router.get("/{contact_id}", response_model=ContactPublic, responses=problem_responses(404))
async def get_contact(contact_id: str, principal: ContactReader, session: SessionDep) -> ContactPublic:
    """One contact."""
    contact = await directory.get_contact(session=session, principal=principal, contact_id=contact_id)
    return ContactPublic.model_validate(contact)


@router.delete("/{contact_id}", status_code=204, response_class=Response, responses=problem_responses(404))
async def erase_contact(contact_id: str, principal: ContactWriter, session: SessionDep) -> Response:
    """Erase a contact: its personal data goes, its responses are anonymised, `contact.erased` is sent."""
    await erasure.erase_contact(session=session, principal=principal, contact_id=contact_id)
    return Response(status_code=204)
