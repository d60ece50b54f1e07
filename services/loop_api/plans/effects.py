"""Each active plan's latest effect, measured once a day against the rest of the org and kept on the plan.

Scorecards show it through loop_api's case figures, which metrics_api asks for: measuring it there would make
loop_api call metrics_api inside a call that came from metrics_api. So it is measured here, in the background
(and whenever someone with the whole org in view asks for the default impact), with the same code as
`GET /v1/action-plans/{id}/impact`. Several replicas may measure the same plan at once: the answer is the same,
and the last write wins. A plan on the whole org has no "rest" to compare with and is never measured.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from fastapi import FastAPI
from sqlalchemy import exists, or_
from sqlmodel import col, select

from services.loop_api.models import ActionPlan, ActionPlanUnit
from services.loop_api.plans.impact import DEFAULT_WINDOW_DAYS, plan_impact
from shared.auth import Principal
from shared.background import pause
from shared.clients import MetricsClient
from shared.db import Database

logger = logging.getLogger("cxloop.loop.effects")

MEASURE_EVERY = dt.timedelta(hours=24)
BATCH_SIZE = 50
MEASURER = "system:effects"


async def _due(db: Database, now: dt.datetime) -> list[tuple[str, str]]:
    """(org, plan id) of active plans with a scope whose effect was never measured or is a day old."""
    scoped = exists(select(ActionPlanUnit.plan_id).where(col(ActionPlanUnit.plan_id) == col(ActionPlan.id)))
    stale = or_(col(ActionPlan.effect_measured_at).is_(None), col(ActionPlan.effect_measured_at) < now - MEASURE_EVERY)
    statement = select(ActionPlan.org, ActionPlan.id).where(col(ActionPlan.status) == "active", scoped, stale)
    async with db.sessions() as session:
        rows = (await session.exec(statement.order_by(col(ActionPlan.id)).limit(BATCH_SIZE))).all()
    return [(org, plan_id) for org, plan_id in rows]


async def measure_effects(db: Database, metrics: MetricsClient, now: dt.datetime) -> int:
    """Measure every due plan's effect (org-wide control, the default window); how many were measured.

    A plan whose figures metrics_api did not give keeps its previous effect and is tried again next time.
    """
    measured = 0
    for org, plan_id in await _due(db, now):
        try:
            degraded = await _measure(db, metrics, org, plan_id, now)
        except Exception:  # one plan's failure must not starve the others behind it
            logger.exception("measuring the effect of action plan %s failed", plan_id)
            continue
        if degraded:
            break  # metrics_api is not answering: the rest would fail the same way
        measured += 1
    return measured


async def _measure(db: Database, metrics: MetricsClient, org: str, plan_id: str, now: dt.datetime) -> bool:
    """Measure one plan as someone seeing the whole org would (which keeps the answer); whether it was degraded."""
    principal = Principal(sub=MEASURER, org=org, scopes=frozenset({"plans:read"}))
    async with db.sessions() as session, session.begin():
        answer = await plan_impact(
            session=session,
            principal=principal,
            metrics=metrics,
            plan_id=plan_id,
            window_days=DEFAULT_WINDOW_DAYS,
            control="rest",
            now=now,
        )
    return bool(answer.degraded)


async def effects_loop(app: FastAPI, stop: asyncio.Event) -> None:
    """Measure due plans every `effects_interval_seconds` until `stop` is set; errors are logged, never fatal."""
    interval: float = app.state.settings.effects_interval_seconds
    while not stop.is_set():
        try:
            measured = await measure_effects(app.state.db, app.state.metrics, app.state.clock.now())
            if measured:
                logger.info("measured the effect of %d action plans", measured)
        except Exception:
            logger.exception("measuring action plans' effects failed; retrying")
        await pause(stop, seconds=interval)
