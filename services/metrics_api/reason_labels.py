"""Labels of reason codes in the caller's language, asked of survey_api (metrics_api keeps only the codes).

One `GET /v1/surveys/{id}` through survey_api's client (shared.clients) with a short-lived service token
carrying the caller's org and units, a short timeout, and the answer remembered for five minutes per survey.
The language is the first of `Accept-Language` that the option has, else the survey's default (its first
language). When survey_api does not answer, reason impact
still renders with codes only and says so (`degraded: ["labels"]`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from shared.auth import Principal
from shared.clients import SurveyClient

CACHE_SECONDS = 300.0
CACHE_ENTRIES = 1024
Options = dict[str, dict[str, dict[str, str]]]  # question key → code → language → label


def preferred_languages(header: str | None) -> list[str]:
    """The languages of an `Accept-Language` header, most wanted first (`de-CH` also offers `de`)."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and tag != "*" and weight > 0:
            ranked.append((-weight, index, tag.lower()))
    languages: list[str] = []
    for _, _, tag in sorted(ranked):
        for candidate in (tag, tag.split("-")[0]):
            if candidate not in languages:
                languages.append(candidate)
    return languages


def _options_of(survey: dict[str, Any]) -> tuple[Options, str | None]:
    options: Options = {}
    for question in survey.get("questions") or []:
        if question.get("kind") == "reasons":
            options[question["key"]] = {o["code"]: dict(o.get("label") or {}) for o in question.get("options") or []}
    languages = survey.get("languages") or []
    return options, (languages[0] if languages else None)


@dataclass
class ReasonLabels:
    """The reason options of surveys, each kept for `ttl` seconds (failures are not kept: asked again)."""

    survey: SurveyClient
    ttl: float = CACHE_SECONDS
    kept: dict[tuple[str, str], tuple[float, tuple[Options, str | None]]] = field(default_factory=dict)

    async def options(self, principal: Principal, survey_id: str) -> tuple[Options, str | None] | None:
        """The survey's reason options and default language: remembered, or asked of survey_api (None: no answer)."""
        key, now = (principal.org, survey_id), time.monotonic()
        held = self.kept.get(key)
        if held is not None and held[0] > now:
            return held[1]
        survey = await self.survey.survey(principal=principal, survey_id=survey_id)
        if survey is None:
            return None
        if len(self.kept) >= CACHE_ENTRIES:
            self.kept.clear()
        self.kept[key] = (now + self.ttl, _options_of(survey))
        return self.kept[key][1]


async def add_labels(
    answer: dict[str, Any], *, labels: ReasonLabels, principal: Principal, accept_language: str | None
) -> dict[str, Any]:
    """Give each item of a reason-impact answer its `label` in the caller's language (and the answer the
    `language` used), or say `degraded: ["labels"]` when survey_api did not answer."""
    found = await labels.options(principal, answer["survey_id"])
    if found is None:
        for item in answer["items"]:
            item["label"] = None
        return answer | {"language": None, "degraded": ["labels"]}
    options, default = found
    codes = options.get(answer["question"], {})
    wanted = [*preferred_languages(accept_language), *([default] if default else [])]
    offered = {language for label in codes.values() for language in label}
    language = next((w for w in wanted if w in offered), None)
    for item in answer["items"]:
        item["label"] = codes.get(item["code"], {}).get(language or "")
    return answer | {"language": language, "degraded": []}
