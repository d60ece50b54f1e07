"""Human labels for metric groups, and journey and stage groups, from survey_api's catalog.

metrics_api keys facts by ids; the names live in survey_api. One cached catalog client (shared.clients,
1.5 s timeout, 5 minutes cache, a short-lived service token on behalf of the caller) lists units, touchpoints
and surveys. Journey and stage groups fold touchpoint groups (histograms add), journeys and stages in the
order the org's touchpoints define them (first appearance: survey_api has no explicit stage order yet).
When survey_api does not answer, labels are null and the answer says `degraded: ["labels"]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.auth import Principal
from shared.clients import SurveyClient

TIMEOUT_SECONDS = 1.5
CATALOG_OF = {
    "unit": "units",
    "touchpoint": "touchpoints",
    "survey": "surveys",
    "journey": "touchpoints",
    "stage": "touchpoints",
}
FOLDED = ("journey", "stage")  # groups made of touchpoint groups


@dataclass(frozen=True)
class GroupNames:
    """What the catalog says of one `group_by`: each key's label, in the org's order, and (journey, stage) the
    group of each touchpoint. `known` is False when survey_api did not answer (labels null, degraded)."""

    labels: dict[str, str]
    fold: dict[str, str]
    known: bool = True


def _key(touchpoint: dict[str, Any], group_by: str) -> tuple[str, str]:
    """A touchpoint's journey or stage group: its key (a stage is named within its journey) and label."""
    journey, stage = str(touchpoint.get("journey") or ""), str(touchpoint.get("stage") or "")
    return (journey, journey) if group_by == "journey" else (f"{journey}/{stage}", stage)


def names_from(group_by: str, items: list[dict[str, Any]]) -> GroupNames:
    """The labels (and touchpoint folding) of `group_by` from its catalog's items."""
    if group_by == "unit":
        return GroupNames({str(u["path"]): str(u["name"]) for u in items}, {})
    if group_by in FOLDED:
        keyed = [(str(t["id"]), *_key(t, group_by)) for t in items]
        return GroupNames({key: label for _, key, label in keyed}, {tid: key for tid, key, _ in keyed})
    return GroupNames({str(i["id"]): str(i["name"]) for i in items}, {})


async def group_names(client: SurveyClient | None, principal: Principal, group_by: str | None) -> GroupNames | None:
    """The names of `group_by`'s groups (None: groups keyed by what a human reads already, or no grouping)."""
    if group_by is None or group_by not in CATALOG_OF:
        return None
    items = await client.catalog(CATALOG_OF[group_by], principal=principal) if client is not None else None
    return names_from(group_by, items) if items is not None else GroupNames({}, {}, known=False)


def label_groups(groups: list[dict[str, Any]], names: GroupNames | None) -> None:
    """Give every group its `label`: its name, its key when the key is already human, null when unknown."""
    for group in groups:
        key = group["key"]
        if names is None:
            group["label"] = key
        else:
            group["label"] = names.labels.get(key) if key is not None else None


def in_org_order(groups: list[dict[str, Any]], names: GroupNames) -> list[dict[str, Any]]:
    """Journey and stage groups in the order the org defines them; groups of no known touchpoint last."""
    rank = {key: i for i, key in enumerate(names.labels)}
    return sorted(groups, key=lambda g: rank.get(g["key"], len(rank)))
