"""`/v1/responses`: partner responses (single, batch, partial), reading them back, and the export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from services.survey_api.responses import export, ingest
from services.survey_api.responses.filters import ResponseFiltersDep
from services.survey_api.responses.schemas import (
    BatchRequest,
    BatchResult,
    ExportFormat,
    ResponseCreate,
    ResponsePublic,
    ResponseUpdate,
)
from services.survey_api.scopes import ResponseReader, ResponseWriter
from shared.db import DatabaseDep, SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/responses", tags=["responses"], responses=problem_responses(401, 403, 422)
)


@router.post(
    "",
    status_code=201,
    response_model=ResponsePublic,
    responses={
        200: {"model": ResponsePublic, "description": "A duplicate: this external_id was already stored"},
        **problem_responses(404, 409),
    },
)
async def create_response(
    data: ResponseCreate, principal: ResponseWriter, answer: Response, session: IdempotentSession, request: Request
) -> ResponsePublic:
    """Accept one response from a partner system (201), or find the one already stored for its external_id (200)."""
    stored, created = await ingest.create_response(session=session, principal=principal, data=data)
    answer.status_code = 201 if created else 200
    request.app.state.http_metrics.count_ingest("responses", accepted=int(created), duplicates=int(not created))
    return ResponsePublic.model_validate(stored)


@router.post("/batch", response_model=BatchResult, responses=problem_responses(409))
async def create_response_batch(
    data: BatchRequest, principal: ResponseWriter, session: IdempotentSession, request: Request
) -> BatchResult:
    """Accept up to 1,000 responses; the answer says what happened to each (accepted, duplicate, rejected)."""
    result = await ingest.create_batch(session=session, principal=principal, items=data.items)
    counts = {"accepted": result.accepted, "duplicates": result.duplicates, "rejected": len(result.rejected)}
    request.app.state.http_metrics.count_ingest("responses", **counts)
    return result


@router.get("", response_model=Page[ResponsePublic])
async def list_responses(
    principal: ResponseReader,
    session: SessionDep,
    filters: ResponseFiltersDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[ResponsePublic]:
    """The org's responses, oldest first, a page at a time."""
    items, next_cursor = await ingest.list_responses(
        session=session, principal=principal, filters=filters, limit=limit, cursor=cursor
    )
    return Page(items=[ResponsePublic.model_validate(r) for r in items], next_cursor=next_cursor)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}, "description": "The export"}},
)
async def export_responses(
    principal: ResponseReader,
    db: DatabaseDep,
    filters: ResponseFiltersDep,
    format: Annotated[ExportFormat, Query(description="csv or ndjson")] = "csv",  # noqa: A002 - the API's word
) -> StreamingResponse:
    """Every matching response, streamed in constant memory (CSV with JSON answer cells, or NDJSON)."""
    return StreamingResponse(
        await export.started(export.export(db, principal, filters, format)),
        media_type=export.MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="responses.{format}"'},
    )


@router.get("/{response_id}", response_model=ResponsePublic, responses=problem_responses(404))
async def get_response(response_id: str, principal: ResponseReader, session: SessionDep) -> ResponsePublic:
    """One response."""
    return ResponsePublic.model_validate(
        await ingest.get_response(session=session, principal=principal, response_id=response_id)
    )


@router.patch("/{response_id}", response_model=ResponsePublic, responses=problem_responses(404, 409))
async def update_response(
    response_id: str, data: ResponseUpdate, principal: ResponseWriter, session: SessionDep
) -> ResponsePublic:
    """Merge more answers into an unfinished response; `finished: true` checks it whole and completes it."""
    response = await ingest.update_response(session=session, principal=principal, response_id=response_id, data=data)
    return ResponsePublic.model_validate(response)
