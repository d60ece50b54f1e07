"""Rules that open cases: conditions on a response, scope, priority, SLA policy and assignment."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints, model_validator

from shared.schemas.common import Name, UnitPath

Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
ScoreOp = Literal["<", "<=", ">", ">=", "=="]
QuestionKind = Literal["nps", "csat", "ces", "rating", "emotion"]
SuccessCode = Literal["yes", "partly", "no"]
Audience = Literal["customers", "employees"]
Purpose = Literal["standard", "followup"]

MAX_CONDITIONS = 20
MAX_WORDS = 50
MAX_ROUTES = 50
MAX_RAISES = 10

QuestionKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,59}$")]
OptionCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")]
# A word or short phrase that starts and ends with a letter or digit, so "whole word" has a meaning.
Word = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60, pattern=r"^\w(.*\w)?$")]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Hours = Annotated[float, Field(gt=0, le=24 * 365)]


def priority_rank(priority: str) -> int:
    """0 for `low` up to 3 for `urgent`."""
    return PRIORITIES.index(priority)  # type: ignore[arg-type]


class ScoreCondition(BaseModel):
    """A scored answer compares true: by question kind (any question of it) or by question key."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["score"] = "score"
    question_kind: QuestionKind | None = None
    question_key: QuestionKey | None = None
    op: ScoreOp
    value: StrictInt = Field(ge=0, le=10)

    @model_validator(mode="after")
    def _one_target(self) -> ScoreCondition:
        if (self.question_kind is None) == (self.question_key is None):
            raise ValueError("give exactly one of question_kind and question_key")
        return self


class SuccessCondition(BaseModel):
    """A success answer (did the customer get done what they came for?) is, or is not, one of yes, partly, no:
    `{"type": "success", "op": "==", "value": "no"}` opens a case for every customer who did not. Any success
    question unless `question_key` names one."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["success"] = "success"
    op: Literal["==", "!=", "in"]
    value: SuccessCode | list[SuccessCode]
    question_key: QuestionKey | None = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> SuccessCondition:
        if (self.op == "in") != isinstance(self.value, list):
            raise ValueError("`in` takes a list of yes, partly, no; `==` and `!=` take one of them")
        if isinstance(self.value, list) and not self.value:
            raise ValueError("`in` takes at least one of yes, partly, no")
        return self

    def holds(self, answer: str) -> bool:
        """Whether this success answer compares true."""
        if isinstance(self.value, list):
            return answer in self.value
        return (answer == self.value) == (self.op == "==")


class ReasonCondition(BaseModel):
    """A reason code is picked in a `reasons` answer (any reasons question unless `question_key` names one)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["reason"] = "reason"
    code: OptionCode
    question_key: QuestionKey | None = None


class WordsCondition(BaseModel):
    """Any of these words occurs in a free-text answer: case-insensitive, whole words, never a pattern."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["words"] = "words"
    words: list[Word] = Field(min_length=1, max_length=MAX_WORDS)
    question_key: QuestionKey | None = None


Condition = Annotated[ScoreCondition | SuccessCondition | ReasonCondition | WordsCondition, Field(discriminator="type")]


class AttributeRaise(BaseModel):
    """Raise the priority when a contact attribute equals a value (`tier` = `gold` → `urgent`)."""

    model_config = ConfigDict(extra="forbid")

    attribute: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    equals: Annotated[str, StringConstraints(max_length=200)] | StrictInt | StrictBool
    priority: Priority


class SlaPolicy(BaseModel):
    """Business hours to first contact and to resolution; a missing one is the org's default."""

    model_config = ConfigDict(extra="forbid")

    first_contact_hours: Hours | None = None
    resolution_hours: Hours | None = None

    @model_validator(mode="after")
    def _resolution_after_first_contact(self) -> SlaPolicy:
        first, resolution = self.first_contact_hours, self.resolution_hours
        if first is not None and resolution is not None and resolution < first:
            raise ValueError("resolution_hours must be at least first_contact_hours")
        return self


class Route(BaseModel):
    """Cases of this unit subtree (any unit when null) go to an owner, or round robin to a team's members."""

    model_config = ConfigDict(extra="forbid")

    unit: UnitPath | None = None
    owner: UserId | None = None
    team: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None

    @model_validator(mode="after")
    def _owner_or_team(self) -> Route:
        if (self.owner is None) == (self.team is None):
            raise ValueError("give exactly one of owner and team")
        return self


class Assignment(BaseModel):
    """The deepest matching route wins; no match leaves the case unassigned in the queue of its unit."""

    model_config = ConfigDict(extra="forbid")

    routes: list[Route] = Field(default_factory=list, max_length=MAX_ROUTES)


class RuleDefinition(BaseModel):
    """What a rule is, without its identity: validated on create, on update (after merging) and on load."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    active: bool = True
    order: int = Field(default=100, ge=0, le=1_000_000, description="Lower runs first among equal priorities")
    match: Literal["all", "any"] = "all"
    conditions: list[Condition] = Field(min_length=1, max_length=MAX_CONDITIONS)
    survey_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    touchpoint_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    unit: UnitPath | None = Field(default=None, description="Only responses of this unit subtree")
    audience: Audience = Field(default="customers", description="Whose answers: employee answers need `employees`")
    purpose: Purpose = Field(default="standard", description="`followup`: answers to a closed case's follow-up")
    priority: Priority = "normal"
    priority_by_attribute: list[AttributeRaise] = Field(default_factory=list, max_length=MAX_RAISES)
    sla: SlaPolicy = Field(default_factory=SlaPolicy)
    assignment: Assignment = Field(default_factory=Assignment)


class RuleCreate(RuleDefinition):
    """A new rule."""


class RuleUpdate(BaseModel):
    """A partial update; each given field replaces the rule's (lists and objects whole)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    active: bool | None = None
    order: int | None = Field(default=None, ge=0, le=1_000_000)
    match: Literal["all", "any"] | None = None
    conditions: list[Condition] | None = Field(default=None, min_length=1, max_length=MAX_CONDITIONS)
    survey_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    touchpoint_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    unit: UnitPath | None = None
    audience: Audience | None = None
    purpose: Purpose | None = None
    priority: Priority | None = None
    priority_by_attribute: list[AttributeRaise] | None = Field(default=None, max_length=MAX_RAISES)
    sla: SlaPolicy | None = None
    assignment: Assignment | None = None

    @model_validator(mode="after")
    def _required_not_null(self) -> RuleUpdate:
        # survey_id, touchpoint_id and unit may be cleared with null; these may not.
        required = (
            *("name", "active", "order", "match", "conditions"),
            *("audience", "purpose", "priority", "priority_by_attribute"),
        )
        nulls = [f for f in required if f in self.model_fields_set and getattr(self, f) is None]
        if nulls:
            raise ValueError(f"may not be null: {', '.join(nulls)}; leave a field out to keep its value")
        return self


class RulePublic(RuleDefinition):
    """A rule as the API shows it; `default: true` marks the built-in rule of an org without rules."""

    id: str
    default: bool = False
    created_at: dt.datetime | None
    updated_at: dt.datetime | None


DEFAULT_RULE_ID = "rule_default"


def default_rule() -> RulePublic:
    """The rule of an org with none of its own: a customer's NPS answer of 6 or less, in its unit's queue."""
    return RulePublic(
        id=DEFAULT_RULE_ID,
        default=True,
        name="Detractors (default)",
        conditions=[ScoreCondition(question_kind="nps", op="<=", value=6)],
        created_at=None,
        updated_at=None,
    )
