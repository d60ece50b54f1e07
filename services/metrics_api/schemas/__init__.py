"""metrics_api's request and response models."""

from services.metrics_api.schemas.benchmarks import BenchmarkCreate, BenchmarkPublic
from services.metrics_api.schemas.common import (
    VALUE_DESCRIPTION,
    AttributeKey,
    Audience,
    Metric,
    OpaqueId,
    QuestionKey,
)
from services.metrics_api.schemas.metrics import (
    BenchmarkStatus,
    CesAnswer,
    CsatAnswer,
    EmotionAnswer,
    Interval,
    NpsAnswer,
    PeriodOut,
    PreviousValue,
    RateAnswer,
    RatingAnswer,
    SuccessAnswer,
    TargetStatus,
)
from services.metrics_api.schemas.scorecards import Scorecard
from services.metrics_api.schemas.settings import MetricsOrgSettings
from services.metrics_api.schemas.targets import TargetCreate, TargetPublic, TargetUpdate

__all__ = [
    "VALUE_DESCRIPTION",
    "AttributeKey",
    "Audience",
    "BenchmarkCreate",
    "BenchmarkPublic",
    "BenchmarkStatus",
    "CesAnswer",
    "CsatAnswer",
    "EmotionAnswer",
    "Interval",
    "Metric",
    "MetricsOrgSettings",
    "NpsAnswer",
    "OpaqueId",
    "PeriodOut",
    "PreviousValue",
    "QuestionKey",
    "RateAnswer",
    "RatingAnswer",
    "Scorecard",
    "SuccessAnswer",
    "TargetCreate",
    "TargetPublic",
    "TargetStatus",
    "TargetUpdate",
]
