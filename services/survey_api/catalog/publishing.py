"""A survey's lifecycle: publish (completeness checks, a frozen version), close and reopen; its versions.

draft ──publish──▶ active ──close──▶ closed ──publish──▶ active. Publishing a closed survey reopens it: with
unpublished changes they are published as the next version; with none, the version it had simply reopens
(no new version; `published_at` stays the time that version was published).
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey, SurveyVersion
from services.survey_api.catalog.questions import SUCCESS_CODES, Question, ShowIf
from services.survey_api.catalog.surveys import (
    content_of,
    dump_questions,
    get_survey,
    has_unpublished_changes,
    parse_questions,
    unprocessable,
)
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, FieldError, NotFound
from shared.ids import new_id
from shared.pagination import keyset, page_of


def _missing(field: str, language: str) -> FieldError:
    return FieldError(field=field, message=f"missing the {language!r} text", code="missing_translation")


def _translation_errors(index: int, question: Question, languages: list[str]) -> list[FieldError]:
    """Each language a question's prompt or one of its option labels lacks."""
    field = f"questions.{index}"
    errors = [_missing(f"{field}.prompt.{lang}", lang) for lang in languages if lang not in question.prompt]
    for j, option in enumerate(question.options or []):
        label = f"{field}.options.{j}.label"
        errors += [_missing(f"{label}.{lang}", lang) for lang in languages if lang not in option.label]
    return errors


def _show_if_errors(index: int, show_if: ShowIf, questions: list[Question]) -> list[FieldError]:
    """Problems of a condition: it must compare an earlier scored question with values on its scale, or an
    earlier success question with its codes."""
    field = f"questions.{index}.show_if"
    keys = [q.key for q in questions]
    if show_if.question not in keys:
        return [FieldError(field=f"{field}.question", message=f"no question {show_if.question!r}", code="unknown")]
    referenced = keys.index(show_if.question)
    if referenced >= index:
        message = f"must refer to an earlier question; {show_if.question!r} is questions.{referenced}"
        return [FieldError(field=f"{field}.question", message=message, code="not_earlier")]
    target = questions[referenced]
    if target.kind == "success" or show_if.compares_codes:
        return _success_condition_errors(field, show_if, target)
    if not target.scored or target.scale_min is None or target.scale_max is None:
        message = (
            f"{target.key!r} is a {target.kind} question; only nps, csat, ces, rating, emotion and success "
            "answers compare"
        )
        return [FieldError(field=f"{field}.question", message=message, code="not_scored")]
    low, high = target.scale_min, target.scale_max
    message = f"lies outside the {target.key!r} scale {low}..{high}"
    return [
        FieldError(field=path, message=f"{value} {message}", code="out_of_scale")
        for path, value in _values(field, show_if)
        if not isinstance(value, int) or not low <= value <= high
    ]


def _values(field: str, show_if: ShowIf) -> list[tuple[str, int | str]]:
    """Each value of a condition with its field path."""
    if isinstance(show_if.value, list):
        return [(f"{field}.value.{k}", value) for k, value in enumerate(show_if.value)]
    return [(f"{field}.value", show_if.value)]


def _success_condition_errors(field: str, show_if: ShowIf, target: Question) -> list[FieldError]:
    """A condition on a success answer compares its codes (`==` or `in`), never a score."""
    if target.kind != "success":
        message = f"{target.key!r} is a {target.kind} question: yes, partly and no compare only a success answer"
        return [FieldError(field=f"{field}.question", message=message, code="not_success")]
    return [
        FieldError(field=path, message=f"{value!r} is not yes, partly or no", code="unknown_option")
        for path, value in _values(field, show_if)
        if value not in SUCCESS_CODES
    ]


def completeness_errors(survey: Survey, questions: list[Question]) -> list[FieldError]:
    """Everything that keeps a working copy from being published, each with its field path."""
    errors = []
    if survey.default_language not in survey.languages:
        message = f"{survey.default_language!r} is not one of the survey's languages"
        errors.append(FieldError(field="default_language", message=message, code="not_a_survey_language"))
    if survey.title is not None:  # once a title is given, every respondent must get one in their language
        errors += [_missing(f"title.{lang}", lang) for lang in survey.languages if lang not in survey.title]
    for index, question in enumerate(questions):
        errors += _translation_errors(index, question, survey.languages)
        if question.show_if is not None:
            errors += _show_if_errors(index, question.show_if, questions)
    return errors


async def _activate(session: AsyncSession, survey: Survey) -> Survey:
    survey.status, survey.closed_at, survey.updated_at = "active", None, utcnow()
    session.add(survey)
    await session.flush()
    return survey


async def publish_survey(*, session: AsyncSession, principal: Principal, survey_id: str) -> Survey:
    """Freeze the working copy as the version respondents answer; see the module for reopening a closed one.

    422 listing every problem when it is incomplete; 409 when an active survey has nothing new to publish.
    """
    survey = await get_survey(session=session, principal=principal, survey_id=survey_id, lock=True)
    if not has_unpublished_changes(survey):
        if survey.status == "closed":
            return await _activate(session, survey)
        raise Conflict(
            f"Nothing to publish: version {survey.version} is active and unchanged since it was published; "
            "edit the survey first, or close it"
        )
    questions = parse_questions(survey.questions)
    errors = completeness_errors(survey, questions)
    if errors:
        raise unprocessable("The survey is not ready to publish", errors)
    frozen = {**content_of(survey), "questions": dump_questions(questions)}
    version = SurveyVersion(id=new_id("sver"), org=survey.org, survey_id=survey.id, version=survey.version, **frozen)
    survey.published_version, survey.published_at = version.version, version.published_at
    session.add(version)
    try:
        return await _activate(session, survey)
    except IntegrityError as exc:  # cannot happen under the row lock; kept so a race is never a 500
        raise Conflict(f"Version {survey.version} was just published by another request") from exc


async def close_survey(*, session: AsyncSession, principal: Principal, survey_id: str) -> Survey:
    """Stop an active survey taking responses; 409 from draft or when it is already closed."""
    survey = await get_survey(session=session, principal=principal, survey_id=survey_id, lock=True)
    if survey.status == "draft":
        raise Conflict("A draft survey cannot be closed: only an active one can; publish it first")
    if survey.status == "closed":
        raise Conflict("The survey is already closed; publish it to reopen it")
    now = utcnow()
    survey.status, survey.closed_at, survey.updated_at = "closed", now, now
    session.add(survey)
    await session.flush()
    return survey


async def list_versions(
    *, session: AsyncSession, principal: Principal, survey_id: str, limit: int, cursor: str | None
) -> tuple[list[SurveyVersion], str | None]:
    """A page of a survey's published versions, oldest (version 1) first; 404 if the survey is not the org's."""
    await get_survey(session=session, principal=principal, survey_id=survey_id)
    statement = select(SurveyVersion).where(SurveyVersion.org == principal.org, SurveyVersion.survey_id == survey_id)
    rows = (await session.exec(keyset(statement, col(SurveyVersion.id), limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit, key_of=lambda version: version.id)


async def get_version(*, session: AsyncSession, principal: Principal, survey_id: str, version: int) -> SurveyVersion:
    """One published version of a survey of the org; 404 when the survey or that version does not exist."""
    survey = await get_survey(session=session, principal=principal, survey_id=survey_id)
    statement = select(SurveyVersion).where(SurveyVersion.survey_id == survey.id, SurveyVersion.version == version)
    frozen = (await session.exec(statement)).first()
    if frozen is None:
        published = survey.published_version
        latest = f"the latest published is {published}" if published is not None else "it was never published"
        raise NotFound(f"Survey {survey_id!r} has no published version {version} ({latest})")
    return frozen
