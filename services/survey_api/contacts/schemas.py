"""Wire models of contacts: the upsert body, its bulk form and their answers, and how a contact is shown."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictBool, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

from shared.errors import FieldError
from shared.schemas.common import Language, UnitPath

MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_STRING = 500
MAX_BULK_ITEMS = 10_000
ATTRIBUTE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL characters

ConsentChannel = Literal["email", "sms", "web", "in_app", "link"]
ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)]
ContactName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)]
# `[0-9]` rather than `\d`: the pattern engine's `\d` would also accept non-ASCII digits.
Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]
AttributeValue = str | int | float | bool


def _attribute_error(code: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(code, message)


def _check_attribute(key: Any, value: Any) -> None:
    """Raise for a key or value that a flat attribute object may not hold (null deletes, so it passes)."""
    if not isinstance(key, str) or not ATTRIBUTE_KEY.match(key):
        raise _attribute_error("attribute_key", f"attribute key {key!r} must match ^[a-z][a-z0-9_]{{0,39}}$")
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _attribute_error("attribute_value", f"attribute {key!r}: numbers must be finite")
        return
    if isinstance(value, str):
        if len(value) > MAX_ATTRIBUTE_STRING or "\x00" in value:
            raise _attribute_error(
                "attribute_value", f"attribute {key!r}: strings hold at most {MAX_ATTRIBUTE_STRING} characters, no NUL"
            )
        return
    raise _attribute_error(
        "attribute_value", f"attribute {key!r}: values are strings, integers, floats or booleans (no nesting)"
    )


class ContactUpsert(BaseModel):
    """A contact to create or update, keyed by `external_id`; fields left out keep their stored value.

    `attributes` merge key by key (a null value deletes the key); `consent` merges channel by channel;
    `unsubscribed: true` stamps `unsubscribed_at` (kept if already set), `false` clears it.
    """

    model_config = ConfigDict(extra="forbid")

    external_id: ExternalId
    email: EmailStr | None = None
    phone: Phone | None = None
    name: ContactName | None = None
    locale: Language | None = None
    unit: UnitPath | None = Field(default=None, description="An existing unit of the org")
    attributes: dict[str, AttributeValue | None] = Field(
        default_factory=dict, description=f"Flat: at most {MAX_ATTRIBUTES} keys; a null value deletes the key"
    )
    consent: dict[ConsentChannel, StrictBool] = Field(default_factory=dict, description="Per channel; merges")
    unsubscribed: StrictBool | None = None

    @field_validator("attributes", mode="before")
    @classmethod
    def _flat_attributes(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value  # the type check below names the problem
        if len(value) > MAX_ATTRIBUTES:
            raise _attribute_error("too_many_attributes", f"at most {MAX_ATTRIBUTES} attributes, got {len(value)}")
        for key, item in value.items():
            _check_attribute(key, item)
        return value

    def sent(self, field: str) -> bool:
        """Whether the request carried `field` (explicit nulls included)."""
        return field in self.model_fields_set


class ContactPublic(BaseModel):
    """A contact as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    external_id: str | None
    email: str | None
    phone: str | None
    name: str | None
    locale: str | None
    unit: str | None
    attributes: dict[str, Any]
    consent: dict[str, bool]
    unsubscribed_at: dt.datetime | None
    last_surveyed_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactBulk(BaseModel):
    """Up to 10,000 contacts to upsert; each item is validated on its own, so one bad item fails alone."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(
        max_length=MAX_BULK_ITEMS,
        description="ContactUpsert bodies, applied in order (a repeated external_id merges like a second upsert)",
        json_schema_extra={"items": {"$ref": "#/components/schemas/ContactUpsert"}},
    )


ItemStatus = Literal["created", "updated", "unchanged", "rejected"]


class BulkItemResult(BaseModel):
    """What happened to one item of a bulk upsert, by its index in `items`."""

    index: int
    status: ItemStatus
    id: str | None = None
    errors: list[FieldError] | None = None


class BulkResult(BaseModel):
    """The counts of a bulk upsert and each item's outcome, in request order."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    items: list[BulkItemResult] = Field(default_factory=list)
