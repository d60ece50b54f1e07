"""An action plan's impact: its metric before and after the start, on the scope and a control, from metrics_api.

The histograms come from metrics_api over HTTP (`/internal/v1/histograms`, a service token, a timeout);
"rest" is the org's histogram (or, for a unit-restricted caller, their units') minus the scope's, a control
unit is its subtree minus any part of the scope inside it. When metrics_api does not answer, every number is
null and the answer says `degraded: ["metrics"]`: never an invented figure. The case counts are loop_api's own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from services.loop_api.cases.filters import visible as visible_cases
from services.loop_api.models import ActionPlan, Case
from services.loop_api.plans import estimates as est
from services.loop_api.plans.schemas import (
    ControlFigures,
    ImpactCases,
    PlanImpact,
    SideFigures,
    Window,
    WindowFigures,
    Windows,
)
from services.loop_api.plans.service import get_plan, names_any
from services.loop_api.root_causes.service import with_sub_codes
from shared.auth import Principal
from shared.clients import MetricsClient
from shared.db import in_subtrees
from shared.errors import Forbidden, invalid
from shared.schemas.plans import EffectInterval as Interval
from shared.schemas.plans import PlanEffect

BELOW_MIN_SAMPLE = "below_min_sample"
DEFAULT_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Control:
    """Where the control's answers come from: these subtrees (none: the org) minus those (the scope's)."""

    name: str
    units: list[str]
    minus: list[str] | None  # None: minus the whole scope


def resolve_control(principal: Principal, plan: ActionPlan, control: str) -> Control:
    """`rest` or a unit path the caller may see, outside the plan's scope (403 outside, 422 inside the scope)."""
    if control == "rest":
        if not plan.units and principal.units is None:
            raise invalid("control", "a plan on the whole org has no rest; name a control unit", "no_rest")
        return Control("rest", list(principal.units or []), None)
    if not principal.sees_unit(control):
        raise Forbidden(f"Your token may not read unit {control!r}")
    if not plan.units or any(control == u or control.startswith(u + "/") for u in plan.units):
        raise invalid("control", "the control unit lies inside the plan's scope", "inside_scope")
    return Control(control, [control], [u for u in plan.units if u.startswith(control + "/")])


def windows(plan: ActionPlan, window_days: int, today: dt.date) -> Windows:
    """`window_days` before `starts_on`, and from `starts_on` for as many days, up to today."""
    before = Window(start=plan.starts_on - dt.timedelta(days=window_days), end=plan.starts_on - dt.timedelta(days=1))
    end = min(plan.starts_on + dt.timedelta(days=window_days - 1), today)
    return Windows(before=before, after=Window(start=plan.starts_on, end=end) if end >= plan.starts_on else None)


async def _histograms(
    metrics: MetricsClient, principal: Principal, plan: ActionPlan, units: list[str], window: Window | None
) -> tuple[list[est.Histogram], int | None] | None:
    """The histograms of the plan's metric on `units` (with its touchpoints and survey) over `window`."""
    if window is None:
        return [], None
    body = await metrics.histograms(
        principal=principal,
        metric=plan.metric,
        units=units,
        touchpoint_ids=plan.touchpoint_ids,
        survey_id=plan.survey_id,
        start=window.start,
        end=window.end,
    )
    return (list(body["histograms"]), int(body["min_sample"])) if body is not None else None


async def count_cases(session: AsyncSession, principal: Principal, plan: ActionPlan, window: Window | None) -> int:
    """Cases opened in the window with one of the plan's root causes (or sub-codes), in its scope."""
    if window is None or not plan.root_causes:
        return 0
    codes = await with_sub_codes(session, org=plan.org, codes=tuple(plan.root_causes))
    start = dt.datetime.combine(window.start, dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(window.end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    base: Any = select(func.count()).select_from(Case)
    statement = visible_cases(base, principal).where(
        names_any(col(Case.root_causes), codes), col(Case.created_at) >= start, col(Case.created_at) < end
    )
    if plan.units:
        statement = statement.where(in_subtrees(col(Case.unit), plan.units))
    if plan.touchpoint_ids:
        statement = statement.where(col(Case.touchpoint_id).in_(plan.touchpoint_ids))
    if plan.survey_id:
        statement = statement.where(col(Case.survey_id) == plan.survey_id)
    return int((await session.exec(statement)).one()[0])


@dataclass(frozen=True)
class Fetched:
    """The four histograms of the comparison (control already minus the scope) and the org's minimum sample."""

    scope: tuple[list[est.Histogram], list[est.Histogram]]
    control: tuple[list[est.Histogram], list[est.Histogram]]
    min_sample: int


async def _fetch(
    metrics: MetricsClient, principal: Principal, plan: ActionPlan, control: Control, spans: Windows
) -> Fetched | None:
    """Ask metrics_api for every histogram at once; None when any of them did not come."""
    asked = [(plan.units, spans.before), (plan.units, spans.after)]
    asked += [(control.units, spans.before), (control.units, spans.after)]
    if control.minus:
        asked += [(control.minus, spans.before), (control.minus, spans.after)]
    answers = await asyncio.gather(*(_histograms(metrics, principal, plan, units, span) for units, span in asked))
    if any(answer is None for answer in answers):
        return None
    found = [answer for answer in answers if answer is not None]
    scope_before, scope_after, base_before, base_after = (h for h, _ in found[:4])
    minus = (scope_before, scope_after) if control.minus is None else ([], [])
    if control.minus:
        minus = (found[4][0], found[5][0])
    control_pair = (est.subtract(base_before, minus[0]), est.subtract(base_after, minus[1]))
    min_sample = max(m for _, m in found if m is not None)
    return Fetched((scope_before, scope_after), control_pair, min_sample)


def _figures(estimate: est.Estimate, min_sample: int) -> WindowFigures:
    return WindowFigures(value=estimate.value if estimate.n >= min_sample else None, n=estimate.n)


def _side(pair: tuple[est.Estimate, est.Estimate], min_sample: int) -> SideFigures:
    before, after = (_figures(e, min_sample) for e in pair)
    change = after.value - before.value if after.value is not None and before.value is not None else None
    return SideFigures(before=before, after=after, change=change)


def _answer(base: dict[str, Any], metric: str, fetched: Fetched, started: bool) -> PlanImpact:
    """The comparison's figures; the effect only with all four windows at or above the minimum sample."""
    scope = (est.estimate(metric, fetched.scope[0]), est.estimate(metric, fetched.scope[1]))
    control = (est.estimate(metric, fetched.control[0]), est.estimate(metric, fetched.control[1]))
    control_side = ControlFigures(name=base.pop("control_name"), **_side(control, fetched.min_sample).model_dump())
    enough = all(e.n >= fetched.min_sample for e in (*scope, *control))
    did = est.difference_in_differences(scope, control) if enough else est.DiD(None, None, None, None)
    reason = None if enough else (BELOW_MIN_SAMPLE if started else "not_started")
    ci = Interval(low=did.low, high=did.high) if did.low is not None and did.high is not None else None
    return PlanImpact(
        **base,
        scope=_side(scope, fetched.min_sample),
        control=control_side,
        effect=did.effect,
        ci=ci,
        p_value=did.p_value,
        significant=did.p_value is not None and did.p_value < est.SIGNIFICANCE,
        min_sample=fetched.min_sample,
        reason=reason,
        degraded=[],
    )


def _degraded(base: dict[str, Any]) -> PlanImpact:
    unknown = WindowFigures(value=None, n=None)
    side = {"before": unknown, "after": unknown, "change": None}
    return PlanImpact(
        **{k: v for k, v in base.items() if k != "control_name"},
        scope=SideFigures(**side),
        control=ControlFigures(name=base["control_name"], **side),
        effect=None,
        ci=None,
        p_value=None,
        significant=False,
        min_sample=None,
        reason="metrics_unavailable",
        degraded=["metrics"],
    )


async def plan_impact(
    *,
    session: AsyncSession,
    principal: Principal,
    metrics: MetricsClient,
    plan_id: str,
    window_days: int,
    control: str,
    now: dt.datetime,
) -> PlanImpact:
    """The plan's difference-in-differences against `control` over `window_days` each side of `starts_on`."""
    plan = await get_plan(session=session, principal=principal, plan_id=plan_id)
    chosen = resolve_control(principal, plan, control)
    spans = windows(plan, window_days, now.date())
    cases = ImpactCases(
        before=await count_cases(session, principal, plan, spans.before),
        after=await count_cases(session, principal, plan, spans.after),
    )
    after_days = (spans.after.end - spans.after.start).days + 1 if spans.after is not None else 0
    base: dict[str, Any] = {
        "plan_id": plan.id,
        "metric": plan.metric,
        "window_days": window_days,
        "after_days": after_days,
        "windows": spans,
        "cases": cases,
        "control_name": chosen.name,
    }
    fetched = await _fetch(metrics, principal, plan, chosen, spans)
    if fetched is None:
        return _degraded(base)
    answer = _answer(base, plan.metric, fetched, started=spans.after is not None)
    if principal.units is None and control == "rest" and window_days == DEFAULT_WINDOW_DAYS:
        await remember(session, plan, answer, now)  # the org-wide default comparison is the plan's latest effect
    return answer


async def remember(session: AsyncSession, plan: ActionPlan, answer: PlanImpact, now: dt.datetime) -> None:
    """Keep `answer` as the plan's latest effect (derived data: the plan's version and timeline stay as they are)."""
    effect = PlanEffect(
        measured_at=now,
        window_days=answer.window_days,
        after_days=answer.after_days,
        effect=answer.effect,
        ci=answer.ci,
        p_value=answer.p_value,
        significant=answer.significant,
        reason=answer.reason,
    )
    statement = update(ActionPlan).where(col(ActionPlan.id) == plan.id)
    await session.exec(statement.values(latest_effect=effect.model_dump(mode="json"), effect_measured_at=now))
