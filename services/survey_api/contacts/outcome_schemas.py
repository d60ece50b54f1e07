"""Wire models of outcomes: a partner's business fact about a contact, its batch form, and how it is shown."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from services.survey_api.contacts.schemas import ExternalId
from shared.db import utcnow

MAX_BATCH = 1000
MAX_VALUE = 1e12
EARLIEST = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
FUTURE_TOLERANCE = dt.timedelta(days=1)  # partners' clocks drift; an outcome further ahead has not occurred

OutcomeKind = Literal["churned", "renewed", "purchase", "revenue"]


class OutcomeContact(BaseModel):
    """The contact the outcome is about, by the org's `external_id` (it must exist: it is never created here)."""

    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId


class OutcomeCreate(BaseModel):
    """A business fact about a contact from a partner system (CRM, billing), idempotent by `external_id`."""

    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId = Field(description="The partner's id of this fact: unique per org")
    contact: OutcomeContact
    kind: OutcomeKind
    value: float | None = Field(
        default=None,
        validate_default=True,  # so that a revenue without a value is refused
        ge=0,
        le=MAX_VALUE,
        allow_inf_nan=False,
        description="An amount ≥ 0 in the org's currency; required for `revenue`, optional otherwise",
    )
    occurred_at: AwareDatetime = Field(description="When it happened: since 1990, at most a day ahead; with offset")

    @field_validator("value")
    @classmethod
    def _revenue_has_value(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is None and info.data.get("kind") == "revenue":
            raise ValueError("a revenue outcome needs its amount in `value`")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: dt.datetime) -> dt.datetime:
        if value < EARLIEST:
            raise ValueError(f"must not be before {EARLIEST.date().isoformat()}")
        if value > utcnow() + FUTURE_TOLERANCE:
            raise ValueError("must not be more than a day in the future: an outcome is something that happened")
        return value.astimezone(dt.UTC)


class OutcomePublic(BaseModel):
    """An outcome as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    external_id: str
    contact_id: str
    kind: OutcomeKind
    value: float | None
    occurred_at: dt.datetime
    created_at: dt.datetime


class OutcomeBatch(BaseModel):
    """Up to 1,000 outcomes; each item is checked on its own so one bad item rejects only itself."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="OutcomeCreate bodies",
        json_schema_extra={"items": {"$ref": "#/components/schemas/OutcomeCreate"}},
    )
