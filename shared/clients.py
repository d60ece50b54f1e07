"""Typed httpx clients for calling the other services: their URL from the settings, a timeout, a service token.

A call carries a short-lived service token minted for it (signed with the service key, naming the calling
service), acting for the caller's principal (its org and units, the scopes the call needs). A service that is
down, slow or answers an error yields None (logged), so the caller can degrade instead of failing its own
request.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from shared.auth import Principal, mint_service_token
from shared.settings import CommonSettings

logger = logging.getLogger("cxloop.clients")
TOKEN_SECONDS = 60
CATALOG_SECONDS = 300.0  # a renamed unit, touchpoint or survey shows within five minutes
CATALOG_DOWN_SECONDS = 30.0  # survey_api did not answer: ask again after this, not on every request
CATALOG_ENTRIES = 1024
CATALOG_PAGES = 20  # at most 20 pages of 500: a catalog bigger than that is cut, never waited for
CATALOG_PATHS = {"units": "/v1/units", "touchpoints": "/v1/touchpoints", "surveys": "/v1/surveys"}


@dataclass
class ServiceClient:
    """Calls one other service as `caller`, each request with its own service token and `timeout`."""

    settings: CommonSettings
    caller: str
    service: str
    http: httpx.AsyncClient
    timeout: float

    def headers(self, principal: Principal | None, scopes: list[str]) -> dict[str, str]:
        """The Authorization header of a call on behalf of `principal` with `scopes` (the service itself: None)."""
        token = mint_service_token(
            self.settings, service=self.caller, on_behalf_of=principal, scopes=scopes, ttl_seconds=TOKEN_SECONDS
        )
        return {"Authorization": f"Bearer {token}"}

    async def get_json(
        self, path: str, *, principal: Principal | None, scopes: list[str], params: Mapping[str, str | list[str]]
    ) -> Any | None:
        """GET `path`; the JSON body of a 200, or None (logged) when the service did not answer one."""
        headers = self.headers(principal, scopes)
        try:
            answer = await self.http.get(path, params=params, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            logger.warning("%s did not answer %s: %s", self.service, path, exc)
            return None
        if answer.status_code != 200:
            logger.warning("%s answered %s to %s", self.service, answer.status_code, path)
            return None
        return answer.json()

    async def aclose(self) -> None:
        """Close the connections (at the caller's shutdown)."""
        await self.http.aclose()


class LoopClient(ServiceClient):
    """loop_api, as the other services call it."""

    async def case_stats(
        self, *, principal: Principal, start: dt.datetime, end: dt.datetime, unit: str | None
    ) -> dict[str, Any] | None:
        """`GET /v1/cases/stats` over [start, end) for `unit` (or the principal's units): the `overall` figures,
        and under `active_plans` the active action plans touching the unit."""
        params = {"from": start.isoformat(), "to": end.isoformat()} | ({"unit": unit} if unit else {})
        scopes = ["cases:read", "plans:read"]
        body = await self.get_json("/v1/cases/stats", principal=principal, scopes=scopes, params=params)
        return dict(body["overall"]) | {"active_plans": body.get("active_plans")} if body is not None else None


class MetricsClient(ServiceClient):
    """metrics_api, as the other services call it."""

    async def histograms(
        self,
        *,
        principal: Principal,
        metric: str,
        units: list[str],
        touchpoint_ids: list[str],
        survey_id: str | None,
        start: dt.date,
        end: dt.date,
    ) -> dict[str, Any] | None:
        """`GET /internal/v1/histograms` of the principal's org: counts per score on a scope over days (inclusive)."""
        params: dict[str, str | list[str]] = {"org": principal.org, "metric": metric, "from": start.isoformat()}
        params |= {"to": end.isoformat(), "unit": units, "touchpoint_id": touchpoint_ids}
        params |= {"survey_id": survey_id} if survey_id else {}
        # An internal endpoint: the service's own token (no tenant); the org travels as a parameter.
        body = await self.get_json("/internal/v1/histograms", principal=None, scopes=["events:write"], params=params)
        return dict(body) if body is not None else None


def metrics_client(settings: CommonSettings, *, caller: str, timeout: float) -> MetricsClient:
    """A client of metrics_api at `settings.metrics_api_url`."""
    http = httpx.AsyncClient(base_url=settings.metrics_api_url, timeout=timeout)
    return MetricsClient(settings=settings, caller=caller, service="metrics_api", http=http, timeout=timeout)


def loop_client(settings: CommonSettings, *, caller: str, timeout: float) -> LoopClient:
    """A client of loop_api at `settings.loop_api_url`."""
    http = httpx.AsyncClient(base_url=settings.loop_api_url, timeout=timeout)
    return LoopClient(settings=settings, caller=caller, service="loop_api", http=http, timeout=timeout)


CatalogKey = tuple[str, str, tuple[str, ...] | None]


@dataclass
class SurveyClient(ServiceClient):
    """survey_api, as the other services call it: its catalog (units, touchpoints, surveys), cached 5 minutes."""

    cache: dict[CatalogKey, tuple[float, list[dict[str, Any]] | None]] = field(default_factory=dict)

    async def catalog(self, kind: str, *, principal: Principal) -> list[dict[str, Any]] | None:
        """Every item of `units`, `touchpoints` or `surveys` the principal sees, in survey_api's order.

        None when survey_api did not answer (remembered for 30 s, so a down survey_api costs one timeout).
        """
        units = tuple(sorted(principal.units)) if principal.units is not None else None
        key = (principal.org, kind, units)
        cached = self.cache.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        items = await self._pages(CATALOG_PATHS[kind], principal)
        if len(self.cache) >= CATALOG_ENTRIES:
            self.cache.clear()
        self.cache[key] = (time.monotonic() + (CATALOG_SECONDS if items is not None else CATALOG_DOWN_SECONDS), items)
        return items

    async def survey(self, *, principal: Principal, survey_id: str) -> dict[str, Any] | None:
        """`GET /v1/surveys/{id}` (its questions, options and languages), or None when survey_api did not answer."""
        path = f"/v1/surveys/{quote(survey_id, safe='')}"
        body = await self.get_json(path, principal=principal, scopes=["surveys:read"], params={})
        return dict(body) if isinstance(body, dict) else None

    async def _pages(self, path: str, principal: Principal) -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = []
        params = {"limit": "500"}
        for _ in range(CATALOG_PAGES):
            page = await self.get_json(path, principal=principal, scopes=["surveys:read"], params=params)
            if page is None:
                return None
            items.extend(page["items"])
            if not page.get("next_cursor"):
                break
            params = {"limit": "500", "cursor": str(page["next_cursor"])}
        return items


def survey_client(settings: CommonSettings, *, caller: str, timeout: float) -> SurveyClient:
    """A client of survey_api at `settings.survey_api_url`."""
    http = httpx.AsyncClient(base_url=settings.survey_api_url, timeout=timeout)
    return SurveyClient(settings=settings, caller=caller, service="survey_api", http=http, timeout=timeout)
