"""Surveys: create, read, list and edit the working copy; find the published version respondents answer.

A survey is one row (the working copy) plus a frozen `SurveyVersion` per publish. Its `version` is the
number the working copy has: a never-published draft is edited in place as version 1; editing a published
survey whose working copy equals its published version N starts N+1, and editing it back to equal N makes
it N again. `contact_frequency_days` and `purpose` are operational settings, not part of what respondents
answer: they are not versioned and a change to either applies at once. `title` is what respondents see (per
language, falling back to the internal `name`), so it is versioned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey, SurveyVersion
from services.survey_api.catalog.purpose import check_purpose_change
from services.survey_api.catalog.questions import Question
from services.survey_api.catalog.schemas import SurveyCreate, SurveyPublic, SurveyUpdate
from services.survey_api.catalog.touchpoints import find_touchpoint
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, FieldError, NotFound, Unprocessable
from shared.ids import new_id
from shared.pagination import keyset, page_of

VERSIONED_FIELDS = (
    "name",
    "title",
    "kind",
    "audience",
    "touchpoint_id",
    "languages",
    "default_language",
    "questions",
)
UNVERSIONED_FIELDS = ("contact_frequency_days", "purpose")
"""What a published version freezes; a change to any of them is a change to publish."""

_questions_adapter = TypeAdapter(list[Question])


def parse_questions(stored: list[dict[str, Any]]) -> list[Question]:
    """The question models of stored question documents."""
    return _questions_adapter.validate_python(stored)


def dump_questions(questions: Sequence[Question]) -> list[dict[str, Any]]:
    """Questions as they are stored (default scales filled in)."""
    return [question.model_dump(mode="json") for question in questions]


def content_of(row: Survey | SurveyVersion) -> dict[str, Any]:
    """The versioned fields of a working copy or of a frozen version."""
    return {name: getattr(row, name) for name in VERSIONED_FIELDS}


def respondent_title(row: Survey | SurveyVersion, language: str | None) -> str:
    """What a respondent sees as the survey's title: its title in `language`, else in the default language,
    else the survey's (internal) name."""
    titles = row.title or {}
    for candidate in (language, (language or "").split("-")[0], row.default_language):
        if candidate and candidate in titles:
            return titles[candidate]
    return row.name


def has_unpublished_changes(survey: Survey) -> bool:
    """Whether the working copy differs from the published version (always true before the first publish)."""
    return survey.version != survey.published_version


def public_survey(survey: Survey) -> SurveyPublic:
    """The survey as the API shows it."""
    return SurveyPublic.model_validate(
        {**survey.model_dump(), "has_unpublished_changes": has_unpublished_changes(survey)}
    )


def unprocessable(summary: str, errors: list[FieldError]) -> Unprocessable:
    """A 422 listing every one of `errors`."""
    detail = f"{summary}: " + "; ".join(f"{e.field}: {e.message}" for e in errors)
    return Unprocessable(detail[:1000], errors=errors)


def structure_errors(*, languages: list[str], default_language: str, questions: list[Question]) -> list[FieldError]:
    """Rules across fields: default language among the languages, unique question keys, `other` keys free."""
    errors = []
    if default_language not in languages:
        message = f"{default_language!r} is not one of the survey's languages {languages}"
        errors.append(FieldError(field="default_language", message=message, code="not_a_survey_language"))
    # A question that allows `other` takes its free text under `<key>_other`; no question may use that key.
    other_keys = {q.other_key: j for j, q in enumerate(questions) if q.allow_other}
    first: dict[str, int] = {}
    for i, question in enumerate(questions):
        field = f"questions.{i}.key"
        if question.key in first:
            message = f"{question.key!r} is already the key of questions.{first[question.key]}"
            errors.append(FieldError(field=field, message=message, code="duplicate_key"))
        first.setdefault(question.key, i)
        if question.key in other_keys:
            owner = other_keys[question.key]
            message = f"{question.key!r} carries the `other` text of questions.{owner} ({questions[owner].key!r})"
            errors.append(FieldError(field=field, message=message, code="reserved_key"))
    return errors


async def _touchpoint_errors(session: AsyncSession, *, org: str, touchpoint_id: str | None) -> list[FieldError]:
    """A touchpoint a survey is being given must be the org's and active (a retired one keeps only its past)."""
    if touchpoint_id is None:
        return []
    touchpoint = await find_touchpoint(session, org=org, touchpoint_id=touchpoint_id)
    if touchpoint is None:
        message = f"there is no touchpoint {touchpoint_id!r} in your org"
        return [FieldError(field="touchpoint_id", message=message, code="unknown_touchpoint")]
    if touchpoint.status == "retired":
        message = f"touchpoint {touchpoint_id!r} is retired; no new survey may use it"
        return [FieldError(field="touchpoint_id", message=message, code="retired_touchpoint")]
    return []


def _title_errors(content: dict[str, Any]) -> list[FieldError]:
    extra = sorted(set(content["title"] or {}) - set(content["languages"]))
    return [
        FieldError(
            field=f"title.{lang}",
            message=f"{lang!r} is not one of the survey's languages",
            code="not_a_survey_language",
        )
        for lang in extra
    ]


async def _check(
    session: AsyncSession, *, org: str, content: dict[str, Any], questions: list[Question], new_touchpoint: bool
) -> None:
    """422 listing each structural problem of a would-be working copy, and a touchpoint not of the org (or
    retired, when the survey is being given it)."""
    errors = []
    if new_touchpoint:
        errors += await _touchpoint_errors(session, org=org, touchpoint_id=content["touchpoint_id"])
    errors += _title_errors(content)
    errors += structure_errors(
        languages=content["languages"], default_language=content["default_language"], questions=questions
    )
    if errors:
        raise unprocessable("The survey is not valid", errors)


async def create_survey(*, session: AsyncSession, principal: Principal, data: SurveyCreate) -> Survey:
    """Add a draft survey (version 1); 422 listing each structural problem or a touchpoint not of the org."""
    content: dict[str, Any] = {
        "name": data.name,
        "title": data.title,
        "kind": data.kind,
        "audience": data.audience,
        "touchpoint_id": data.touchpoint_id,
        "languages": list(data.languages),
        "default_language": data.default_language or data.languages[0],
        "questions": dump_questions(data.questions),
    }
    await _check(session, org=principal.org, content=content, questions=data.questions, new_touchpoint=True)
    now = utcnow()  # one instant, so a new survey's created_at equals its updated_at
    survey = Survey(
        id=new_id("survey"),
        org=principal.org,
        contact_frequency_days=data.contact_frequency_days,
        purpose=data.purpose,
        created_at=now,
        updated_at=now,
        **content,
    )
    session.add(survey)
    await session.flush()
    return survey


async def get_survey(*, session: AsyncSession, principal: Principal, survey_id: str, lock: bool = False) -> Survey:
    """One survey of the caller's org; 404 otherwise. `lock` holds its row until the transaction ends."""
    if lock:  # a no-op UPDATE: a row lock on PostgreSQL, the write lock on SQLite, before we read
        mine = (col(Survey.id) == survey_id, col(Survey.org) == principal.org)
        await session.exec(update(Survey).where(*mine).values(version=col(Survey.version)))
    survey = await session.get(Survey, survey_id, populate_existing=lock)
    if survey is None or survey.org != principal.org:
        raise NotFound(f"No survey {survey_id!r}")
    return survey


async def list_surveys(
    *,
    session: AsyncSession,
    principal: Principal,
    status: str | None,
    kind: str | None,
    touchpoint_id: str | None,
    audience: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Survey], str | None]:
    """A page of the org's surveys in creation order, optionally filtered by status, kind, touchpoint, audience."""
    statement = select(Survey).where(Survey.org == principal.org)
    filters = {"status": status, "kind": kind, "touchpoint_id": touchpoint_id, "audience": audience}
    for name, value in filters.items():
        if value is not None:
            statement = statement.where(col(getattr(Survey, name)) == value)
    rows = (await session.exec(keyset(statement, col(Survey.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda survey: survey.id)


def _changes(data: SurveyUpdate) -> dict[str, Any]:
    changes = {name: getattr(data, name) for name in data.model_fields_set}
    if data.questions is not None:
        changes["questions"] = dump_questions(data.questions)
    return changes


async def published_version_of(session: AsyncSession, survey: Survey) -> SurveyVersion | None:
    """The frozen version respondents answer (None before the first publish)."""
    if survey.published_version is None:
        return None
    statement = select(SurveyVersion).where(
        SurveyVersion.survey_id == survey.id, SurveyVersion.version == survey.published_version
    )
    return (await session.exec(statement)).one()


async def update_survey(*, session: AsyncSession, principal: Principal, survey_id: str, data: SurveyUpdate) -> Survey:
    """Change the working copy (fields left out stay), revalidated as on create; see the module for versions."""
    survey = await get_survey(session=session, principal=principal, survey_id=survey_id, lock=True)
    changes = _changes(data)
    before = {**content_of(survey), **{name: getattr(survey, name) for name in UNVERSIONED_FIELDS}}
    if {**before, **changes} == before:
        return survey
    content = {**content_of(survey), **{k: v for k, v in changes.items() if k in VERSIONED_FIELDS}}
    questions = data.questions if data.questions is not None else parse_questions(survey.questions)
    new_touchpoint = content["touchpoint_id"] != survey.touchpoint_id
    await _check(session, org=principal.org, content=content, questions=questions, new_touchpoint=new_touchpoint)
    if changes.get("purpose", survey.purpose) != survey.purpose:
        await check_purpose_change(session, survey=survey, purpose=changes["purpose"])
    survey.sqlmodel_update(changes)
    published = await published_version_of(session, survey)
    if published is not None:  # a never-published draft is edited in place
        same = content_of(survey) == content_of(published)
        survey.version = published.version if same else published.version + 1
    survey.updated_at = utcnow()
    session.add(survey)
    await session.flush()
    return survey


async def answerable_version(*, session: AsyncSession, org: str, survey_id: str) -> tuple[Survey, SurveyVersion]:
    """The survey and the published version respondents answer; 404 if not the org's, 409 unless active.

    One query (the survey joined to its published version): this runs for every response accepted.
    """
    published = (col(SurveyVersion.survey_id) == col(Survey.id)) & (
        col(SurveyVersion.version) == col(Survey.published_version)
    )
    statement = select(Survey, SurveyVersion).outerjoin(SurveyVersion, published).where(Survey.id == survey_id)
    found = (await session.exec(statement)).first()
    survey, version = found if found is not None else (None, None)
    if survey is None or survey.org != org:
        raise NotFound(f"No survey {survey_id!r}")
    if survey.status != "active" or version is None:
        hint = "it was never published" if survey.status == "draft" else "publish it again to reopen it"
        raise Conflict(f"Survey {survey_id!r} is {survey.status} and takes no responses ({hint})")
    return survey, version
