"""What the insight endpoints (drivers, reasons) share: the scope, filters, period and minimum sample of a request.

They take the same query string as the metrics endpoints (`metric_request`), so every filter the metrics know
(unit subtree, period, channel, touchpoint, `attr.<key>`, and whatever is added there) applies here too.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.catalog import check_request, survey_catalog
from services.metrics_api.metrics import MetricRequest, resolve_scope
from services.metrics_api.models import OrgSettingsRow
from services.metrics_api.period import Period, resolve_period
from services.metrics_api.queries import Filters, Scope
from services.metrics_api.schemas import MetricsOrgSettings
from shared.auth import Principal
from shared.errors import invalid
from shared.org_settings import load_org_settings


@dataclass(frozen=True)
class Ask:
    """One insight request, resolved: whose answers, which ones, when, and the org's minimum sample."""

    scope: Scope
    filters: Filters
    period: Period
    min_sample: int
    unit: str | None


def _refuse_options(request: MetricRequest) -> None:
    """422 for the metrics options an insight answer does not take."""
    asked = {
        "group_by": request.group_by,
        "interval": request.interval,
        "compare": request.compare,
        "include": request.include or None,
        "target": request.goal.target,
        "target_on": request.goal.on,
        "depth": request.depth,
    }
    for name, value in asked.items():
        if value is not None:
            raise invalid(name, "does not apply to this endpoint", "not_applicable")


async def resolve_ask(*, session: AsyncSession, principal: Principal, request: MetricRequest) -> Ask:
    """The scope (403 outside the token's units), filters (a survey of the audience asked for is required) and
    period of a request."""
    _refuse_options(request)
    if request.filters.survey_id is None:
        raise invalid("survey_id", "name the survey to analyse", "required")
    settings = await load_org_settings(session, table=OrgSettingsRow, model=MetricsOrgSettings, org=principal.org)
    period = resolve_period(request.raw_from, request.raw_to, ZoneInfo(settings.timezone))
    scope = resolve_scope(principal, request.unit)
    # `question` names the question analysed, not a filter of the score facts.
    filters = replace(request.filters, question=None)
    check_request(await survey_catalog(session, principal.org), "nps", filters)  # 422: a survey of another audience
    return Ask(scope, filters, period, settings.min_sample, request.unit)
