"""The survey version a new response answers: the survey's state read per request, its frozen version cached.

A published version never changes, so it is kept in-process by (survey id, version) and a request reads only
the survey's own row (status, published version, purpose: these do change) — one short statement.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import SurveyVersion
from shared.errors import Conflict, NotFound
from shared.rawsql import driver_of

CACHED_VERSIONS = 1024
_STATE_SQL = "SELECT org, status, published_version, purpose FROM surveys WHERE id = %s"
_versions: OrderedDict[tuple[str, int], SurveyVersion] = OrderedDict()


@dataclass(frozen=True)
class SurveyState:
    """What a response needs of its survey now (the working copy's mutable fields)."""

    id: str
    org: str
    status: str
    published_version: int | None
    purpose: str


async def answerable(*, session: AsyncSession, org: str, survey_id: str) -> tuple[SurveyState, SurveyVersion]:
    """The survey and the published version respondents answer; 404 if not the org's, 409 unless active."""
    rows = await (await driver_of(session)).execute(_STATE_SQL, (survey_id,))
    if not rows or rows[0][0] != org:
        raise NotFound(f"No survey {survey_id!r}")
    survey = SurveyState(survey_id, *rows[0])
    if survey.status != "active" or survey.published_version is None:
        hint = "it was never published" if survey.status == "draft" else "publish it again to reopen it"
        raise Conflict(f"Survey {survey_id!r} is {survey.status} and takes no responses ({hint})")
    return survey, await frozen_version(session=session, survey_id=survey_id, version=survey.published_version)


async def frozen_version(*, session: AsyncSession, survey_id: str, version: int) -> SurveyVersion:
    """A published version of a survey, read once per process (versions are immutable)."""
    key = (survey_id, version)
    found = _versions.get(key)
    if found is None:
        statement = select(SurveyVersion).where(SurveyVersion.survey_id == survey_id, SurveyVersion.version == version)
        found = (await session.exec(statement)).one()
        session.expunge(found)  # shared by later requests: never tied to this one's session
        _versions[key] = found
        if len(_versions) > CACHED_VERSIONS:
            _versions.popitem(last=False)
    return found
