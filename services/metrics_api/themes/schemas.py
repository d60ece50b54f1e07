"""Wire models of the themes domain: the codebook, theme metrics, the sentiment mix and suggestions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from services.metrics_api.schemas.common import Audience
from services.metrics_api.schemas.insight import NpsInterval
from services.metrics_api.schemas.metrics import PeriodOut
from services.metrics_api.themes.matching import fold, tokens
from shared.schemas.common import Name

ThemeCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
LanguageKey = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
Word = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Words = Annotated[
    dict[LanguageKey, Annotated[list[Word], Field(min_length=1, max_length=200)]],
    Field(
        min_length=1,
        max_length=30,
        description="Words and phrases per language (`en`, `de`: primary subtags). A comment carries the theme when"
        " one of them occurs in it as whole words, case-insensitively; a comment of unknown language is matched"
        " against every language's list",
    ),
]


def _check_words(words: dict[str, list[str]]) -> dict[str, list[str]]:
    for language, listed in words.items():
        for word in listed:
            if not tokens(fold(word)):
                raise ValueError(f"{language}: {word!r} has no letter or digit to match")
    return {language: list(dict.fromkeys(listed)) for language, listed in words.items()}


class ThemeCreate(BaseModel):
    """A new theme of the codebook."""

    model_config = ConfigDict(extra="forbid")

    code: ThemeCode = Field(description="Stable code, e.g. `late_delivery`")
    label: Name
    words: Words

    _words = field_validator("words")(_check_words)


class ThemeUpdate(BaseModel):
    """A change of a theme: fields left out stay; `words` replaces the whole list (and re-tags past comments)."""

    model_config = ConfigDict(extra="forbid")

    label: Name | None = None
    words: Words | None = None

    _words = field_validator("words")(_check_words)

    @field_validator("label", "words", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Left out means "stays"; null would clear a field every theme needs.
        if value is None:
            raise ValueError("may be left out but not null")
        return value


class Retag(BaseModel):
    """Progress of tagging past comments after the theme's last change."""

    status: Literal["running", "done"]
    done: int = Field(description="Comments of the org scanned")
    total: int = Field(description="Comments of the org when the re-tag started")


class ThemePublic(BaseModel):
    """A theme of the codebook."""

    code: str
    label: str
    words: dict[str, list[str]]
    retag: Retag
    created_at: dt.datetime
    updated_at: dt.datetime


class SentimentCounts(BaseModel):
    """Comments by sentiment; `unscored`: no model for their language (or it is unknown)."""

    positive: int | None
    neutral: int | None
    negative: int | None
    unscored: int | None


class ThemeImpact(BaseModel):
    """One theme: how often it comes up and the NPS points it costs (DESIGN §4, as reasons)."""

    code: str
    label: str | None = Field(description="The codebook's label")
    count: int | None = Field(description="Responses in scope with an NPS score whose comment carries the theme")
    share_pct: float | None = Field(description="100·count/n (n: responses in scope with an NPS score)")
    nps_with: float | None = Field(description="NPS of those; null below the minimum sample")
    nps_without: float | None = Field(description="NPS of all others in scope; null below the minimum sample")
    points_lost: float | None = Field(description="(count/n)·(nps_without - nps_with)")
    points_lost_ci: NpsInterval | None
    comments: int | None = Field(description="Comments carrying the theme (with or without an NPS score)")
    comment_share_pct: float | None = Field(description="100·comments/all comments of the question in scope")
    sentiment: SentimentCounts | None = Field(description="The sentiment of the comments carrying the theme")


class ThemesAnswer(BaseModel):
    """`GET /v1/metrics/themes`."""

    survey_id: str
    question: str
    unit: str | None
    period: PeriodOut
    min_sample: int
    audience: Audience
    source: Literal["rollups", "facts"]
    n: int | None = Field(description="Responses in scope with an NPS score")
    nps: float | None
    comments: int | None = Field(description="Comments of the question in scope")
    items: list[ThemeImpact] = Field(description="Most points lost first (nulls last)")


class Share(BaseModel):
    """One sentiment: its count and percent of the scored comments with a Wilson 95 % interval."""

    count: int | None
    pct: float | None = Field(description="100·count/scored; null below the minimum sample")
    ci: NpsInterval | None = Field(description="Wilson 95 % interval, in percent")


class SentimentAnswer(BaseModel):
    """`GET /v1/metrics/sentiment`."""

    survey_id: str
    question: str
    unit: str | None
    period: PeriodOut
    min_sample: int
    audience: Audience
    source: Literal["rollups", "facts"]
    comments: int | None = Field(description="Comments of the question in scope")
    scored: int | None = Field(description="Comments with a sentiment (a model exists for their language)")
    unscored: int | None = Field(description="Comments without: language_not_supported or language_unknown")
    positive: Share
    neutral: Share
    negative: Share


class Example(BaseModel):
    """A comment showing a suggested term."""

    response_id: str
    text: str
    nps: int | None


class Suggestion(BaseModel):
    """A word or two-word phrase over-represented among detractors' comments that no theme covers."""

    term: str
    detractors: int = Field(description="Detractors' comments containing it")
    promoters: int = Field(description="Promoters' comments containing it")
    comments: int = Field(description="All comments in scope containing it")
    z: float = Field(description="Weighted log-odds z-score, detractors vs promoters (informative Dirichlet prior)")
    examples: list[Example] = Field(description="Up to two detractors' comments containing it, newest first")


class SuggestionsAnswer(BaseModel):
    """`GET /v1/themes/suggestions`."""

    survey_id: str
    question: str
    unit: str | None
    period: PeriodOut
    method: Literal["weighted_log_odds"]
    detractors: int = Field(description="Detractors' comments read")
    promoters: int = Field(description="Promoters' comments read")
    items: list[Suggestion] = Field(description="Highest z first; only z ≥ 1.96")


class CommentSentiment(BaseModel):
    """A comment's sentiment."""

    label: Literal["positive", "neutral", "negative"]
    score: float = Field(description="VADER compound score, -1..1")


class CommentPublic(BaseModel):
    """A comment of a text question."""

    response_id: str
    question: str
    survey_id: str
    unit: str
    submitted_at: dt.datetime
    language: str | None = Field(description="The response's language, else the survey's default (primary subtag)")
    text: str
    nps: int | None = Field(description="The response's NPS score")
    themes: list[str] = Field(description="Codes of the themes it carries")
    sentiment: CommentSentiment | None = Field(description="Null when no model exists for its language")
    sentiment_reason: Literal["language_not_supported", "language_unknown"] | None
