"""`/v1/outcomes`: business facts about contacts from partner systems — one, a batch, a CSV file — and reading them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime

from services.survey_api.contacts import outcome_import, outcomes
from services.survey_api.contacts.outcome_schemas import OutcomeBatch, OutcomeCreate, OutcomeKind, OutcomePublic
from services.survey_api.responses.schemas import BatchResult
from services.survey_api.scopes import ContactReader, ContactWriter
from shared.db import SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/outcomes", tags=["outcomes"], responses=problem_responses(401, 403, 422)
)
CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            outcome_import.MEDIA_TYPE: {
                "schema": {"type": "string", "description": "external_id,contact_external_id,kind,value,occurred_at"}
            }
        },
    }
}


@router.post(
    "",
    status_code=201,
    response_model=OutcomePublic,
    responses={
        200: {"model": OutcomePublic, "description": "A duplicate: this external_id was already stored"},
        **problem_responses(404, 409),
    },
)
async def record_outcome(
    data: OutcomeCreate, principal: ContactWriter, response: Response, session: IdempotentSession
) -> OutcomePublic:
    """Record one outcome (201), or answer the one already stored under its external_id (200); 404 for an
    unknown contact."""
    outcome, created = await outcomes.record_one(session=session, principal=principal, data=data)
    response.status_code = 201 if created else 200
    return OutcomePublic.model_validate(outcome)


@router.post("/batch", response_model=BatchResult, responses=problem_responses(409))
async def record_outcome_batch(data: OutcomeBatch, principal: ContactWriter, session: IdempotentSession) -> BatchResult:
    """Record up to 1,000 outcomes; the answer says what happened to each (accepted, duplicate, rejected)."""
    items = list(enumerate(data.items))
    return await outcomes.record_batch(session=session, principal=principal, items=items)


@router.post("/import", response_model=BatchResult, responses=problem_responses(409, 413, 415), openapi_extra=CSV_BODY)
async def import_outcomes(request: Request, principal: ContactWriter, session: IdempotentSession) -> BatchResult:
    """Record the outcomes of a CSV file (up to 10,000 rows, 5 MB); each row's fate by its row number."""
    text = await outcome_import.read_limited(request.stream(), request.headers.get("content-type"))
    return await outcome_import.import_csv(session=session, principal=principal, text=text)


@router.get("", response_model=Page[OutcomePublic])
async def list_outcomes(
    principal: ContactReader,
    session: SessionDep,
    contact_id: Annotated[
        str | None, Query(max_length=40, pattern=r"^[^\x00]*$", description="Only this contact's outcomes")
    ] = None,
    kind: Annotated[OutcomeKind | None, Query(description="Only outcomes of this kind")] = None,
    from_: Annotated[AwareDatetime | None, Query(alias="from", description="Occurred at or after")] = None,
    to: Annotated[AwareDatetime | None, Query(description="Occurred before")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[OutcomePublic]:
    """The org's outcomes in the order they were recorded, a page at a time."""
    items, next_cursor = await outcomes.list_outcomes(
        session=session,
        principal=principal,
        contact_id=contact_id,
        kind=kind,
        since=from_,
        until=to,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[OutcomePublic.model_validate(o) for o in items], next_cursor=next_cursor)
