"""A survey's purpose: `standard`, or `followup` — the survey a closed case sends, kept out of org metrics.

The org's follow-up survey (`followup_survey_id` in the org settings) must be one of its own `followup`
surveys: naming a standard one is refused rather than silently converting it, because a mistaken id would
otherwise drop that survey's future answers from every org figure. Make the survey `followup` first
(`PATCH /v1/surveys/{id}` with `purpose`), then name it; while it is named, it cannot go back to standard.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from services.survey_api.catalog.models import Survey
from services.survey_api.models import OrgSettingsRow
from services.survey_api.org_settings import SurveyOrgSettings
from shared.errors import invalid
from shared.org_settings import load_org_settings


async def check_org_settings(session: AsyncSession, org: str, settings: SurveyOrgSettings) -> None:
    """422 unless `followup_survey_id` (when set) names a `followup` survey of this org."""
    chosen = settings.followup_survey_id
    if chosen is None:
        return
    survey = await session.get(Survey, chosen)
    if survey is None or survey.org != org:  # another org's survey is as unknown as a missing one
        raise invalid("followup_survey_id", f"there is no survey {chosen!r} in your org", "unknown_survey")
    if survey.purpose != "followup":
        message = (
            f"survey {chosen!r} is a standard survey; make it a follow-up first "
            f"(PATCH /v1/surveys/{chosen} with purpose: followup) so its answers stay out of the org's metrics"
        )
        raise invalid("followup_survey_id", message, "not_a_followup_survey")


async def check_purpose_change(session: AsyncSession, *, survey: Survey, purpose: str) -> None:
    """422 when the org's follow-up survey would stop being a follow-up."""
    settings = await load_org_settings(session, table=OrgSettingsRow, model=SurveyOrgSettings, org=survey.org)
    if purpose != "followup" and settings.followup_survey_id == survey.id:
        message = "this is the org's follow-up survey (followup_survey_id); name another one there first"
        raise invalid("purpose", message, "org_followup_survey")
