"""The respondent's side of an invitation: open it by its token, find the version to answer, save answers.

The hosted page and the JSON API for apps both use this module; the invitation token is the only
credential. Answers go through the partner path (`responses.prepare`/`store`, `update_response`), so they
are checked exactly alike and write the same `response.completed` / `response.updated` events; the
invitation moves to `opened`, `started` and `completed` through `invitations.advance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey, SurveyVersion
from services.survey_api.catalog.questions import SUCCESS_CODES, Question
from services.survey_api.catalog.surveys import answerable_version, respondent_title
from services.survey_api.contacts.models import Contact
from services.survey_api.outreach.invitations import advance, find_by_token, hash_token, is_open
from services.survey_api.outreach.models import Invitation
from services.survey_api.respondent.i18n import choose_language, localized, ui
from services.survey_api.respondent.schemas import (
    PublicInvitation,
    PublicOption,
    PublicQuestion,
    PublicSurvey,
    ScaleLabels,
)
from services.survey_api.responses.answers import version_questions
from services.survey_api.responses.ingest import IngestContext, Prepared, prepare, store, update_response
from services.survey_api.responses.models import SurveyResponse
from services.survey_api.responses.schemas import ResponseCreate, ResponseUpdate
from shared.auth import Principal
from shared.db import utcnow
from shared.errors import CxloopError, NotFound
from shared.schemas.common import Channel

SOURCE = "hosted"
"""`Response.source` of answers given through an invitation (hosted page or app)."""


class Gone(CxloopError):
    """410: the invitation exists but can no longer be answered."""

    status, slug, title = 410, "gone", "Gone"

    def __init__(self, detail: str | None = None, *, language: str | None = None) -> None:
        super().__init__(detail)
        self.language = language


class InvitationCompleted(Gone):
    slug, title = "invitation-completed", "Invitation already answered"


class InvitationExpired(Gone):
    slug, title = "invitation-expired", "Invitation expired"


class SurveyClosed(Gone):
    slug, title = "survey-closed", "Survey closed"


@dataclass
class Respondent:
    """An open invitation with what answering it needs: survey, version, contact, saved answers, language."""

    invitation: Invitation
    survey: Survey
    version: SurveyVersion
    contact: Contact | None
    response: SurveyResponse | None
    language: str

    @property
    def questions(self) -> tuple[Question, ...]:
        """The questions of the version being answered."""
        return version_questions(self.version)

    @property
    def saved(self) -> dict[str, Any]:
        """The answers saved so far (a partial response), empty before the first save."""
        return dict(self.response.answers) if self.response is not None else {}


async def lock_invitation(session: AsyncSession, token: str) -> None:
    """Hold the token's invitation row until the transaction ends, so two submits of one page run in turn."""
    statement = update(Invitation).where(col(Invitation.token_hash) == hash_token(token))
    await session.exec(statement.values(status=col(Invitation.status)))


async def find_invitation(session: AsyncSession, token: str) -> Invitation:
    """The invitation of a token, whatever its status; 404 when there is none."""
    invitation = await find_by_token(session, token)
    if invitation is None:
        raise NotFound("This link is not valid: there is no invitation for it")
    return invitation


async def open_invitation(
    session: AsyncSession, token: str, *, language: str | None = None, lock: bool = False
) -> Respondent:
    """The invitation a token opens, ready to answer; 404 unknown, 410 answered, expired or survey closed."""
    if lock:
        await lock_invitation(session, token)
    invitation = await find_invitation(session, token)
    contact = await session.get(Contact, invitation.contact_id) if invitation.contact_id else None
    wanted = (language, invitation.language, contact.locale if contact else None)
    response = await session.get(SurveyResponse, invitation.response_id) if invitation.response_id else None
    if invitation.status == "completed" or (response is not None and response.finished):
        raise InvitationCompleted("This invitation has been answered; thank you", language=_first(wanted))
    if not is_open(invitation, utcnow()):
        raise InvitationExpired("This invitation has expired or cannot be answered", language=_first(wanted))
    try:
        survey, version = await answerable_version(session=session, org=invitation.org, survey_id=invitation.survey_id)
    except CxloopError as exc:
        raise SurveyClosed("The survey of this invitation takes no answers", language=_first(wanted)) from exc
    if response is not None and response.survey_version != version.version:
        version = await _pinned_version(session, response)
    chosen = choose_language(version.languages, version.default_language, *wanted)
    return Respondent(invitation, survey, version, contact, response, chosen)


def _first(wanted: tuple[str | None, ...]) -> str | None:
    return next((tag for tag in wanted if tag), None)


async def _pinned_version(session: AsyncSession, response: SurveyResponse) -> SurveyVersion:
    """The version a partial response answers (it keeps it when the survey is published again)."""
    statement = select(SurveyVersion).where(
        SurveyVersion.survey_id == response.survey_id, SurveyVersion.version == response.survey_version
    )
    return (await session.exec(statement)).one()


def mark_opened(session: AsyncSession, respondent: Respondent) -> None:
    """The respondent has the survey in front of them: `opened` (no step back from a later status)."""
    advance(session, respondent.invitation, "opened", survey=respondent.survey)


def _principal(invitation: Invitation) -> Principal:
    """Whom the partner path sees: the invitation, allowed to write responses of its org only."""
    return Principal(sub=f"invitation:{invitation.id}", org=invitation.org, scopes=frozenset({"responses:write"}))


def _channel(invitation: Invitation) -> str:
    return invitation.channel if invitation.channel in get_args(Channel) else "link"


async def _create(
    session: AsyncSession, respondent: Respondent, answers: dict[str, Any], *, finished: bool
) -> SurveyResponse:
    """The first save: a new response through the partner path, for the invitation's contact and unit."""
    invitation = respondent.invitation
    data = ResponseCreate.model_validate(
        {
            "survey_id": respondent.survey.id,
            "channel": _channel(invitation),
            "unit": invitation.unit,
            "language": respondent.language,
            "answers": answers,
            "finished": finished,
        }
    )
    ctx = IngestContext(session, _principal(invitation))
    ctx.versions[respondent.survey.id] = (respondent.survey, respondent.version)
    prepared = await prepare(ctx, data)
    assert isinstance(prepared, Prepared)  # no external_id: never a duplicate
    response = await store(ctx, prepared, respondent.contact, source=SOURCE)
    await session.flush()
    return response


async def save_answers(
    session: AsyncSession, respondent: Respondent, answers: dict[str, Any], *, finished: bool
) -> tuple[SurveyResponse, bool]:
    """Store answers as a new response, or merge them into the saved partial one (null removes an answer).

    Returns the response and whether it was created. 422 lists each invalid answer, with the codes of the
    partner API. The invitation moves to `started`, and to `completed` when `finished`.
    """
    invitation = respondent.invitation
    if respondent.response is None:
        response = await _create(session, respondent, answers, finished=finished)
    else:
        change = ResponseUpdate(answers=answers, finished=finished)
        response = await update_response(
            session=session, principal=_principal(invitation), response_id=respondent.response.id, data=change
        )
    created, respondent.response = respondent.response is None, response
    advance(session, invitation, "started", survey=respondent.survey, response_id=response.id)
    if finished:
        advance(session, invitation, "completed", survey=respondent.survey, response_id=response.id)
    return response, created


def scale_labels(question: Question, language: str) -> ScaleLabels | None:
    """What the ends of a scored question's scale mean, in the page's words for `language`."""
    if not question.scored:
        return None
    words = ui(language)
    return ScaleLabels(low=words[f"{question.kind}_low"], high=words[f"{question.kind}_high"])


def point_labels(question: Question, language: str) -> dict[str, str] | None:
    """The label of every point of an emotion scale (its five faces), in the page's words for `language`."""
    if question.kind != "emotion":
        return None
    words = ui(language)
    return {str(point): words[f"emotion_{point}"] for point in range(1, 6)}


def public_question(question: Question, language: str, default: str) -> PublicQuestion:
    """A question with its prompt and labels in `language` (the survey's default where it lacks one)."""
    options = None
    if question.options is not None:
        options = [PublicOption(code=o.code, label=localized(o.label, language, default)) for o in question.options]
    elif question.kind == "success":  # yes, partly, no in the page's own words
        options = [PublicOption(code=code, label=ui(language)[f"success_{code}"]) for code in SUCCESS_CODES]
    return PublicQuestion(
        key=question.key,
        kind=question.kind,
        prompt=localized(question.prompt, language, default),
        required=question.required,
        scale_min=question.scale_min,
        scale_max=question.scale_max,
        scale_labels=scale_labels(question, language),
        point_labels=point_labels(question, language),
        options=options,
        allow_other=question.allow_other,
        other_key=question.other_key if question.allow_other else None,
        other_label=ui(language)["other"] if question.allow_other else None,
        max_length=question.max_length,
        show_if=question.show_if,
    )


def describe(respondent: Respondent) -> PublicInvitation:
    """The invitation as an app renders it: the version's questions in the respondent's language."""
    version, language = respondent.version, respondent.language
    return PublicInvitation(
        status=respondent.invitation.status,
        language=language,
        languages=list(version.languages),
        expires_at=respondent.invitation.expires_at,
        survey=PublicSurvey(
            id=respondent.survey.id,
            title=respondent_title(version, language),
            version=version.version,
            questions=[public_question(q, language, version.default_language) for q in respondent.questions],
        ),
        response_id=respondent.response.id if respondent.response is not None else None,
        answers=respondent.saved,
    )
