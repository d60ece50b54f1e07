"""Types several of metrics_api's wire models share."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

Metric = Literal["nps", "csat", "ces", "rating", "success", "emotion", "response_rate"]
Audience = Literal["customers", "employees"]
OpaqueId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
QuestionKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
AttributeKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]

VALUE_DESCRIPTION = (
    "The goal: nps -100..100; csat 0..100 (percent satisfied); response_rate 0..100 (percent); "
    "ces 1..7 on the default scale, but any 0..10 is accepted for orgs that use another CES scale; "
    "rating: a mean score, 0..10; success 0..100 (the success rate); emotion 1..5 (the mean)"
)
