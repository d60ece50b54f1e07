"""metrics_api's request and response models."""

from services.metrics_api.schemas.benchmarks import BenchmarkCreate, BenchmarkPublic
from services.metrics_api.schemas.common import VALUE_DESCRIPTION, AttributeKey, Metric, OpaqueId, QuestionKey
from services.metrics_api.schemas.metrics import (
    BenchmarkStatus,
    CesAnswer,
    CsatAnswer,
    Interval,
    NpsAnswer,
    PeriodOut,
    PreviousValue,
    RateAnswer,
    TargetStatus,
)
from services.metrics_api.schemas.scorecards import Scorecard
from services.metrics_api.schemas.settings import MetricsOrgSettings
from services.metrics_api.schemas.targets import TargetCreate, TargetPublic, TargetUpdate

__all__ = [
    "VALUE_DESCRIPTION",
    "AttributeKey",
    "BenchmarkCreate",
    "BenchmarkPublic",
    "BenchmarkStatus",
    "CesAnswer",
    "CsatAnswer",
    "Interval",
    "Metric",
    "MetricsOrgSettings",
    "NpsAnswer",
    "OpaqueId",
    "PeriodOut",
    "PreviousValue",
    "QuestionKey",
    "RateAnswer",
    "Scorecard",
    "TargetCreate",
    "TargetPublic",
    "TargetStatus",
    "TargetUpdate",
]
