"""Wire models of touchpoints: the points of the customer journey where surveys listen."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.schemas.common import Name

JourneyLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
"""The name of a journey or of one of its stages (`onboarding`, `Delivery`)."""


class TouchpointCreate(BaseModel):
    """A new touchpoint; its name is unique within its journey."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    journey: JourneyLabel = Field(description="The journey it belongs to, e.g. `purchase`")
    stage: JourneyLabel = Field(description="The stage of that journey, e.g. `delivery`")


class TouchpointPublic(BaseModel):
    """A touchpoint as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    journey: str
    stage: str
    created_at: dt.datetime
