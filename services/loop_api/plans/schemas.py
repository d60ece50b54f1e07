"""The action plans' request and response models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.loop_api.root_causes.schemas import RootCauseCode
from shared.schemas.common import Name, UnitPath
from shared.schemas.plans import EffectInterval as Interval
from shared.schemas.plans import PlanEffect

PlanStatus = Literal["proposed", "active", "done", "dropped"]
TaskStatus = Literal["todo", "doing", "done"]
PlanMetric = Literal["nps", "csat", "ces"]
Owner = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
OpaqueId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Target = Annotated[float, Field(ge=-100, le=100, description="The value the metric should reach (NPS points, …)")]
NOT_NULL = "may not be null; leave the field out to keep its value"


class PlanScope(BaseModel):
    """Where the plan acts: unit subtrees (none: the whole org), touchpoints (none: all) and maybe one survey."""

    model_config = ConfigDict(extra="forbid")

    units: list[UnitPath] = Field(default_factory=list, max_length=50)
    touchpoint_ids: list[OpaqueId] = Field(default_factory=list, max_length=50)
    survey_id: OpaqueId | None = None

    @field_validator("units", "touchpoint_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class TaskCreate(BaseModel):
    """A task of a plan: what, who, by when."""

    model_config = ConfigDict(extra="forbid")

    title: Name
    owner: Owner
    due_on: dt.date
    status: TaskStatus = "todo"


class TaskUpdate(BaseModel):
    """A partial update of a task; a later `due_on` lets it be flagged overdue (and announced) again."""

    model_config = ConfigDict(extra="forbid")

    title: Name | None = None
    owner: Owner | None = None
    due_on: dt.date | None = None
    status: TaskStatus | None = None

    @field_validator("title", "owner", "due_on", "status")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError(NOT_NULL)
        return value


class PlanCreate(BaseModel):
    """A new action plan (status `proposed`), with its first tasks."""

    model_config = ConfigDict(extra="forbid")

    title: Name
    problem: Text
    root_causes: list[RootCauseCode] = Field(default_factory=list, max_length=20)
    scope: PlanScope = Field(default_factory=PlanScope)
    owner: Owner
    metric: PlanMetric
    target: Target | None = None
    starts_on: dt.date = Field(description="The day the change starts: impact compares the windows around it")
    tasks: list[TaskCreate] = Field(default_factory=list, max_length=100)


class PlanUpdate(BaseModel):
    """A partial update (`If-Match` required); status moves proposed → active → done, or to dropped."""

    model_config = ConfigDict(extra="forbid")

    title: Name | None = None
    problem: Text | None = None
    root_causes: list[RootCauseCode] | None = Field(default=None, max_length=20)
    scope: PlanScope | None = None
    owner: Owner | None = None
    metric: PlanMetric | None = None
    target: Target | None = Field(default=None, description="null clears it")
    starts_on: dt.date | None = None
    status: PlanStatus | None = None

    @field_validator("title", "problem", "root_causes", "scope", "owner", "metric", "starts_on", "status")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError(NOT_NULL)
        return value


class TaskPublic(BaseModel):
    """A task as the API shows it; `overdue`: not done and its due day has passed in the org's time zone."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    owner: str
    due_on: dt.date
    status: TaskStatus
    overdue: bool
    done_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class PlanPublic(BaseModel):
    """An action plan as the API shows it (its `ETag` header is what a change sends as `If-Match`)."""

    id: str
    title: str
    problem: str
    root_causes: list[str]
    scope: PlanScope
    owner: str
    metric: PlanMetric
    target: float | None
    starts_on: dt.date
    status: PlanStatus
    tasks: list[TaskPublic]
    overdue_tasks: int
    latest_effect: PlanEffect | None = Field(
        default=None,
        description="Its effect as last measured against the rest of the org (daily, while active); null until "
        "measured, for a plan on the whole org, and for a unit-restricted caller",
    )
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PlanSummary(BaseModel):
    """An active plan in a few fields (for scorecards): what, who, since when, overdue tasks, its latest effect."""

    id: str
    title: str
    status: PlanStatus
    owner: str
    metric: PlanMetric
    starts_on: dt.date
    overdue_tasks: int
    latest_effect: PlanEffect | None = None


class PlanTimelineEntry(BaseModel):
    """One entry of a plan's timeline."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: str
    actor: str
    at: dt.datetime
    data: dict[str, Any]


class PlanDetail(PlanPublic):
    """A plan with its timeline, oldest entry first."""

    timeline: list[PlanTimelineEntry]


class WindowFigures(BaseModel):
    """The metric over one window: null below the org's minimum sample (or without metrics_api's answer)."""

    value: float | None
    n: int | None


class SideFigures(BaseModel):
    """One side of the comparison: the metric before and after the start, and its change."""

    before: WindowFigures
    after: WindowFigures
    change: float | None


class ControlFigures(SideFigures):
    """The control: `rest` (the org, or the caller's units, minus the scope) or a unit's subtree minus the scope."""

    name: str


class Window(BaseModel):
    """A window of days, both inclusive (UTC days)."""

    start: dt.date = Field(serialization_alias="from")
    end: dt.date = Field(serialization_alias="to")


class Windows(BaseModel):
    """The window before `starts_on` and the window from it (up to today)."""

    before: Window
    after: Window | None = Field(description="null while the plan has not started")


class ImpactCases(BaseModel):
    """Cases opened with the plan's root causes (or sub-codes) in its scope, in each window."""

    before: int
    after: int


class PlanImpact(BaseModel):
    """The plan's measured impact: a difference-in-differences of its metric against a control (DESIGN §4)."""

    plan_id: str
    metric: PlanMetric
    method: Literal["difference_in_differences"] = "difference_in_differences"
    window_days: int
    after_days: int = Field(description="Days of the after window so far (less than window_days until it is full)")
    windows: Windows
    scope: SideFigures
    control: ControlFigures
    effect: float | None = Field(description="(after - before) in scope minus the same in the control")
    ci: Interval | None
    p_value: float | None
    significant: bool = Field(description="p < 0.05 with all four windows at or above the minimum sample")
    min_sample: int | None
    reason: str | None = Field(description="Why there is no effect or it cannot be significant, when so")
    cases: ImpactCases
    degraded: list[Literal["metrics"]] = Field(description="`metrics`: metrics_api did not answer; no numbers")
