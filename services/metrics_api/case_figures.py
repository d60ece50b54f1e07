"""The closed-loop figures of a scorecard, asked of loop_api over HTTP (metrics holds no case data).

One `GET /v1/cases/stats` through loop_api's client (shared.clients) with a short-lived service token carrying
the caller's org and units, and a short timeout: when loop_api is down or slow, the scorecard still renders
without them and says so (`degraded`). An answer is remembered for a minute, the scorecard's own `max-age`,
so a polling app costs loop_api one request a minute per scope, and the scorecard stays a rollup read.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from services.metrics_api.period import Period
from services.metrics_api.schemas.scorecards import ScorecardCases
from shared.auth import Principal
from shared.clients import LoopClient

TIMEOUT_SECONDS = 1.5
CACHE_SECONDS = 60.0
CACHE_ENTRIES = 4096
CacheKey = tuple[str, tuple[str, ...] | None, str | None, dt.date, dt.date]


def period_instants(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The period's days as instants: from the first day's midnight to the midnight after the last, in its zone."""
    start = dt.datetime.combine(period.first, dt.time.min, tzinfo=period.zone)
    end = dt.datetime.combine(period.last + dt.timedelta(days=1), dt.time.min, tzinfo=period.zone)
    return start, end


async def case_figures(
    loop: LoopClient, principal: Principal, unit: str | None, period: Period
) -> ScorecardCases | None:
    """Cases opened in the period for the unit (or the caller's units), or None when loop_api did not answer."""
    start, end = period_instants(period)
    overall = await loop.case_stats(principal=principal, start=start, end=end, unit=unit)
    if overall is None:
        return None
    return ScorecardCases(
        opened=overall["cases"],
        first_contacts=overall["first_contacts"],
        median_hours_to_first_contact=overall["median_hours_to_first_contact"],
        first_contact_within_sla_rate=overall["first_contact_within_sla_rate"],
        resolved_within_sla_rate=overall["resolved_within_sla_rate"],
        saved=overall["saved"],
        saved_rate=overall["saved_rate"],
    )


@dataclass
class CaseFigures:
    """Case figures for scorecards, each answer kept for `ttl` seconds (failures are not kept: asked again)."""

    loop: LoopClient
    ttl: float = CACHE_SECONDS
    kept: dict[CacheKey, tuple[float, ScorecardCases]] = field(default_factory=dict)

    async def get(self, principal: Principal, unit: str | None, period: Period) -> ScorecardCases | None:
        """The figures of `unit` (or the caller's units) over `period`: remembered, or asked of loop_api."""
        units = tuple(sorted(principal.units)) if principal.units is not None else None
        key: CacheKey = (principal.org, units, unit, period.first, period.last)
        now = time.monotonic()
        held = self.kept.get(key)
        if held is not None and held[0] > now:
            return held[1]
        figures = await case_figures(self.loop, principal, unit, period)
        if figures is not None:
            if len(self.kept) >= CACHE_ENTRIES:
                self.kept = {k: v for k, v in self.kept.items() if v[0] > now}
                if len(self.kept) >= CACHE_ENTRIES:
                    self.kept.clear()
            self.kept[key] = (now + self.ttl, figures)
        return figures
