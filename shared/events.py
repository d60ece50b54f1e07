"""The event envelope: the contract of every event one service sends another."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from shared.db import utcnow
from shared.ids import new_id


class EventEnvelope(BaseModel):
    """One event: a unique id (consumers dedupe on it), its type, tenant, source, time and payload."""

    id: str = Field(default_factory=lambda: new_id("evt"), max_length=64)
    type: str = Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$", max_length=100)
    org: str = Field(min_length=1, max_length=100)
    source: str = Field(max_length=50)
    occurred_at: dt.datetime = Field(default_factory=utcnow)
    version: int = 1
    data: dict[str, Any] = Field(default_factory=dict)


class QuestionInfo(BaseModel):
    """What a consumer needs to know of a question to score its answer."""

    key: str
    kind: str
    scale_min: int | None = None
    scale_max: int | None = None


class ResponseData(BaseModel):
    """Payload of `response.completed` and `response.updated`: the response and its context, self-contained."""

    response_id: str
    survey_id: str
    survey_version: int
    survey_kind: str
    audience: str = "customers"  # `customers` or `employees` (DESIGN §3 Audience); older events may lack it
    purpose: str = "standard"  # `standard` or `followup` (the survey a closed case sends); older events lack it
    touchpoint_id: str | None
    channel: str
    source: str
    unit: str | None
    contact_id: str | None
    attributes: dict[str, Any]
    language: str | None
    default_language: str | None = None  # the survey version's default: a response without `language` used it
    questions: list[QuestionInfo]
    answers: dict[str, Any]
    finished: bool
    submitted_at: dt.datetime
    completed_at: dt.datetime | None
    updated_at: dt.datetime


class ContactErasedData(BaseModel):
    """Payload of `contact.erased`: every service removes this contact's personal data from its copies."""

    contact_id: str
    erased_at: dt.datetime
    response_ids: list[str] = Field(default_factory=list)


class EventBatch(BaseModel):
    """What a dispatcher POSTs to `/internal/v1/events`: up to 500 events, in the order they happened."""

    events: list[EventEnvelope] = Field(min_length=1, max_length=500)


class EventReceipt(BaseModel):
    """What a consumer did with a batch: newly processed, already seen (duplicates), or of no interest."""

    processed: int
    duplicates: int
    ignored: int


class InvitationData(BaseModel):
    """Payload of `invitation.<status>` (sent, delivered, opened, displayed, started, completed, bounced, expired).

    Response rates count `completed` over `delivered`. Email and SMS are delivered when sent and not bounced
    (or on a provider receipt); a `link` is delivered when it is handed out; `web` and `in_app` intercepts are
    delivered only when displayed, so their response rates are honest.
    """

    invitation_id: str
    distribution_id: str | None
    survey_id: str
    channel: str
    contact_id: str | None
    unit: str | None
    touchpoint_id: str | None
    status: str
    at: dt.datetime
    response_id: str | None = None


class FollowupRequestedData(BaseModel):
    """Payload of `followup.requested`: loop_api closed a case whose customer was reached; ask them again."""

    case_id: str
    contact_id: str
    survey_id: str
    unit: str | None = None
    response_id: str | None = None
    language: str | None = None
    outcome: str | None = None


class FollowupInvitedData(BaseModel):
    """Payload of `followup.invited`: survey_api's answer to `followup.requested` (no invitation: `not_sent`).

    Later steps of the invitation reach loop_api as `invitation.<status>` events with the same invitation id.
    """

    case_id: str
    invitation_id: str | None
    status: str
    sent_at: dt.datetime | None = None


class CaseBreachedData(BaseModel):
    """Payload of `case.breached`: the sweeper escalated a case whose first-contact or resolution time passed."""

    case_id: str
    breach: str
    due_at: dt.datetime
    unit: str | None
    team: str | None
    response_id: str
    survey_id: str
    priority: str
    owner: str | None


class OutcomeRecordedData(BaseModel):
    """Payload of `outcome.recorded`: a partner system's business fact about a contact (churned, renewed, …)."""

    outcome_id: str
    external_id: str
    contact_id: str
    kind: str
    value: float | None = None
    occurred_at: dt.datetime
    recorded_at: dt.datetime


class CaseData(BaseModel):
    """Payload of `case.opened`, `case.assigned`, `case.status_changed` and `case.closed` (to loop_api's webhooks)."""

    case_id: str
    status: str
    previous_status: str | None = None
    priority: str
    owner: str | None
    team: str | None
    unit: str | None
    response_id: str
    contact_id: str | None
    survey_id: str
    touchpoint_id: str | None
    root_causes: list[str] = Field(default_factory=list)
    outcome: str | None = None
    due_first_contact_at: dt.datetime
    due_resolution_at: dt.datetime


class PlanData(BaseModel):
    """Payload of `plan.created` and `plan.status_changed` (with `previous_status`): an action plan."""

    plan_id: str
    title: str
    status: str
    previous_status: str | None = None
    owner: str
    metric: str
    units: list[str]
    touchpoint_ids: list[str]
    survey_id: str | None
    root_causes: list[str]
    starts_on: dt.date


class PlanTaskOverdueData(BaseModel):
    """Payload of `plan.task_overdue`: a task's due day passed while it was not done (sent once per due day)."""

    plan_id: str
    plan_title: str
    task_id: str
    title: str
    owner: str
    due_on: dt.date
    status: str
    units: list[str]


P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class EventType(Generic[P]):
    """One declared event type: its name (or a family, a prefix ending in `.`), producer, payload and consumers.

    `consumers` are the services the dispatcher delivers it to (`survey`, `metrics`, `loop`); a consumer
    registers one handler for it (shared.consumer.EventHandlers), which is given only payloads that validate.
    """

    name: str
    producer: str
    payload: type[P]
    consumers: tuple[str, ...]

    def matches(self, event_type: str) -> bool:
        """Whether `event_type` is this type (or a member of this family)."""
        return event_type == self.name or (self.name.endswith(".") and event_type.startswith(self.name))

    def envelope(self, *, org: str, data: P, event_type: str | None = None, **fields: Any) -> EventEnvelope:
        """The producer's builder: an event of this type (`event_type` names a family member) carrying `data`."""
        name = event_type or self.name
        if not self.matches(name) or name.endswith("."):
            raise ValueError(f"{name!r} is not an event of type {self.name!r}")
        payload = data.model_dump(mode="json")
        return EventEnvelope(type=name, org=org, source=self.producer, data=payload, **fields)


# Every event one service sends another, declared once: the routes between the services (DESIGN §2).
RESPONSE_COMPLETED_EVENT = EventType("response.completed", "survey_api", ResponseData, ("metrics", "loop"))
RESPONSE_UPDATED_EVENT = EventType("response.updated", "survey_api", ResponseData, ("metrics", "loop"))
CONTACT_ERASED_EVENT = EventType("contact.erased", "survey_api", ContactErasedData, ("metrics", "loop"))
INVITATION_EVENT = EventType("invitation.", "survey_api", InvitationData, ("metrics", "loop"))
FOLLOWUP_REQUESTED_EVENT = EventType("followup.requested", "loop_api", FollowupRequestedData, ("survey",))
FOLLOWUP_INVITED_EVENT = EventType("followup.invited", "survey_api", FollowupInvitedData, ("loop",))
# No other service consumes `case.breached` (loop KPIs are read from loop_api): it goes to webhooks only.
CASE_BREACHED_EVENT = EventType("case.breached", "loop_api", CaseBreachedData, ())
OUTCOME_RECORDED_EVENT = EventType("outcome.recorded", "survey_api", OutcomeRecordedData, ("metrics",))
# loop_api's own news, for its webhooks only (no other service consumes them).
CASE_OPENED_EVENT = EventType("case.opened", "loop_api", CaseData, ())
CASE_ASSIGNED_EVENT = EventType("case.assigned", "loop_api", CaseData, ())
CASE_STATUS_CHANGED_EVENT = EventType("case.status_changed", "loop_api", CaseData, ())
CASE_CLOSED_EVENT = EventType("case.closed", "loop_api", CaseData, ())
PLAN_CREATED_EVENT = EventType("plan.created", "loop_api", PlanData, ())
PLAN_STATUS_CHANGED_EVENT = EventType("plan.status_changed", "loop_api", PlanData, ())
PLAN_TASK_OVERDUE_EVENT = EventType("plan.task_overdue", "loop_api", PlanTaskOverdueData, ())
DECLARED: tuple[EventType[Any], ...] = (
    RESPONSE_COMPLETED_EVENT,
    RESPONSE_UPDATED_EVENT,
    CONTACT_ERASED_EVENT,
    INVITATION_EVENT,
    FOLLOWUP_REQUESTED_EVENT,
    FOLLOWUP_INVITED_EVENT,
    CASE_BREACHED_EVENT,
    OUTCOME_RECORDED_EVENT,
    CASE_OPENED_EVENT,
    CASE_ASSIGNED_EVENT,
    CASE_STATUS_CHANGED_EVENT,
    CASE_CLOSED_EVENT,
    PLAN_CREATED_EVENT,
    PLAN_STATUS_CHANGED_EVENT,
    PLAN_TASK_OVERDUE_EVENT,
)
RESPONSE_COMPLETED = RESPONSE_COMPLETED_EVENT.name
RESPONSE_UPDATED = RESPONSE_UPDATED_EVENT.name
CONTACT_ERASED = CONTACT_ERASED_EVENT.name
FOLLOWUP_REQUESTED = FOLLOWUP_REQUESTED_EVENT.name
FOLLOWUP_INVITED = FOLLOWUP_INVITED_EVENT.name
CASE_BREACHED = CASE_BREACHED_EVENT.name
OUTCOME_RECORDED = OUTCOME_RECORDED_EVENT.name


def declared(event_type: str) -> EventType[Any] | None:
    """The declaration `event_type` falls under (None: no other service receives it)."""
    return next((spec for spec in DECLARED if spec.matches(event_type)), None)


def build_event(event_type: str, *, org: str, data: BaseModel, **fields: Any) -> EventEnvelope:
    """The producers' builder of any declared event: its envelope (source, type) around the declared payload."""
    spec = declared(event_type)
    if spec is None or not isinstance(data, spec.payload):
        raise ValueError(f"{event_type!r} is not declared with a {type(data).__name__} payload")
    return spec.envelope(org=org, data=data, event_type=event_type, **fields)


def subscribers_of(event_type: str) -> tuple[str, ...]:
    """The services (`survey`, `metrics`, `loop`) that must receive events of this type (from the declarations)."""
    spec = declared(event_type)
    return spec.consumers if spec is not None else ()


def invitation_event_type(status: str) -> str:
    """The event type of an invitation reaching `status` (`invitation.sent`, …)."""
    return f"{INVITATION_EVENT.name}{status}"
