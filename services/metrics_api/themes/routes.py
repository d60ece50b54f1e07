"""`/v1/themes` (the codebook; read: `metrics:read`, write: `admin`, as targets), `/v1/themes/suggestions`,
`/v1/metrics/themes` and `/v1/metrics/sentiment` (`metrics:read`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Response

from services.metrics_api.routes.metrics import Asked
from services.metrics_api.schemas import OpaqueId, QuestionKey
from services.metrics_api.themes import codebook, comments, impact, retag, suggestions
from services.metrics_api.themes.models import Theme
from services.metrics_api.themes.schemas import (
    CommentPublic,
    SentimentAnswer,
    SuggestionsAnswer,
    ThemeCode,
    ThemeCreate,
    ThemePublic,
    ThemesAnswer,
    ThemeUpdate,
)
from shared.auth import Principal, require_scopes
from shared.db import DatabaseDep, SessionDep
from shared.errors import problem_responses
from shared.idempotency import IdempotentRoute, IdempotentSession
from shared.pagination import CursorQuery, LimitQuery, Page
from shared.schemas.common import UnitPath
from shared.strict_query import open_query

PathCode = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="The theme's code")]

router = APIRouter(
    route_class=IdempotentRoute, prefix="/v1/themes", tags=["themes"], responses=problem_responses(401, 403, 422)
)
metrics_router = APIRouter(
    prefix="/v1/metrics",
    tags=["themes"],
    responses=problem_responses(401, 403, 422),
    dependencies=[open_query("attr.")],
)
Reader = Annotated[Principal, Depends(require_scopes("metrics:read"))]
Writer = Annotated[Principal, Depends(require_scopes("admin"))]
FILTERS_DOC = (
    " `survey_id` and `question` (a text question) are required; the filters of the metrics endpoints apply"
    " (unit, from, to, channel, touchpoint_id, attr.<key>, theme, audience)."
)


def _later(background: BackgroundTasks, database: Any, theme: Theme, later: bool) -> None:
    """Leave the re-tag of a large org to the background, after the answer."""
    if later:
        background.add_task(retag.background, database, theme.org, theme.code, theme.version)


@router.post("", status_code=201, response_model=ThemePublic, responses=problem_responses(409))
async def create_theme(
    data: ThemeCreate, principal: Writer, session: IdempotentSession, database: DatabaseDep, background: BackgroundTasks
) -> ThemePublic:
    """Add a theme to the codebook and tag past comments with it (scope `admin`); 409 if its code exists."""
    theme, later = await codebook.create_theme(session=session, principal=principal, data=data)
    _later(background, database, theme, later)
    return codebook.public(theme)


@router.get("", response_model=Page[ThemePublic])
async def list_themes(
    principal: Reader, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[ThemePublic]:
    """The org's codebook by code, a page at a time (scope `metrics:read`)."""
    items, next_cursor = await codebook.list_themes(session=session, principal=principal, limit=limit, cursor=cursor)
    return Page(items=[codebook.public(t) for t in items], next_cursor=next_cursor)


@router.get(
    "/suggestions",
    response_model=SuggestionsAnswer,
    description="Words and two-word phrases over-represented in detractors' comments against promoters' (weighted"
    " log-odds with an informative Dirichlet prior), that no theme covers, with counts and two example comments"
    " each (from the caller's units only)." + FILTERS_DOC,
    dependencies=[open_query("attr.")],
)
async def get_suggestions(
    principal: Reader,
    session: SessionDep,
    asked: Asked,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many terms")] = 20,
) -> dict[str, Any]:
    """Candidate themes from the data: terms detractors use and promoters do not."""
    return await suggestions.suggestions_answer(session=session, principal=principal, request=asked, limit=limit)


@router.get("/{code}", response_model=ThemePublic, responses=problem_responses(404))
async def get_theme(code: PathCode, principal: Reader, session: SessionDep) -> ThemePublic:
    """One theme, with the progress of its re-tag (scope `metrics:read`)."""
    return codebook.public(await codebook.get_theme(session=session, principal=principal, code=code))


@router.patch("/{code}", response_model=ThemePublic, responses=problem_responses(404))
async def update_theme(
    code: PathCode,
    data: ThemeUpdate,
    principal: Writer,
    session: SessionDep,
    database: DatabaseDep,
    background: BackgroundTasks,
) -> ThemePublic:
    """Change a theme's label or words; new words re-tag past comments (scope `admin`)."""
    theme, later = await codebook.update_theme(session=session, principal=principal, code=code, data=data)
    _later(background, database, theme, later)
    return codebook.public(theme)


@router.delete("/{code}", status_code=204, response_class=Response, responses=problem_responses(404))
async def delete_theme(code: PathCode, principal: Writer, session: SessionDep) -> Response:
    """Remove a theme and its tags (scope `admin`)."""
    await codebook.delete_theme(session=session, principal=principal, code=code)
    return Response(status_code=204)


@metrics_router.get(
    "/themes",
    response_model=ThemesAnswer,
    description="Theme impact: per theme of the codebook, the responses whose comment carries it, their share, NPS"
    " with and without it, the NPS points it costs (as /v1/reasons), its share of comments and its sentiment"
    " mix. Served from rollups unless a filter needs the facts." + FILTERS_DOC,
)
async def get_theme_metrics(principal: Reader, session: SessionDep, asked: Asked) -> dict[str, Any]:
    """What each theme of the open text costs the NPS, and how its comments feel."""
    return await impact.themes_answer(session=session, principal=principal, request=asked)


@metrics_router.get(
    "/sentiment",
    response_model=SentimentAnswer,
    description="The sentiment mix of a text question's comments: positive, neutral and negative counts and"
    " percent of the scored comments with Wilson 95 % intervals, and the unscored count (no model for the"
    " comment's language: only English is scored)." + FILTERS_DOC,
)
async def get_sentiment(principal: Reader, session: SessionDep, asked: Asked) -> dict[str, Any]:
    """The sentiment mix of a text question's comments."""
    return await impact.sentiment_answer(session=session, principal=principal, request=asked)


comments_router = APIRouter(prefix="/v1/comments", tags=["themes"], responses=problem_responses(401, 403, 422))


@comments_router.get("", response_model=Page[CommentPublic])
async def list_comments(
    principal: Reader,
    session: SessionDep,
    survey_id: Annotated[OpaqueId, Query(description="The survey")],
    question: Annotated[QuestionKey, Query(description="The text question")],
    theme: Annotated[ThemeCode | None, Query(description="Only comments carrying this theme")] = None,
    unit: Annotated[UnitPath | None, Query(description="Only this unit and the units below it")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[CommentPublic]:
    """Customers' comments of a text question with language, sentiment and themes (scope `metrics:read`)."""
    items, next_cursor = await comments.list_comments(
        session=session,
        principal=principal,
        survey_id=survey_id,
        question=question,
        theme=theme,
        unit=unit,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[CommentPublic.model_validate(i) for i in items], next_cursor=next_cursor)
