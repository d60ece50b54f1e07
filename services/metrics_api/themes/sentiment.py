"""Sentiment of a comment from a model shipped inside an installed package — never a guess.

English: VADER (Hutto & Gilbert 2014, the `vaderSentiment` package, whose lexicon is in its wheel): the compound
score in -1..1, positive at ≥ 0.05, negative at ≤ -0.05, neutral between (the authors' thresholds). No other
language has a well-kept package here that ships its model, so any other language is unscored with
`language_not_supported`; a comment whose language is unknown is unscored with `language_unknown`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

THRESHOLD = 0.05
SUPPORTED = frozenset({"en"})


class Sentiment(NamedTuple):
    """A comment's sentiment: label and score, or neither and the reason."""

    label: str | None
    score: float | None
    reason: str | None


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def sentiment_of(text: str, language: str | None) -> Sentiment:
    """The sentiment of `text` written in `language` (a primary subtag), or why there is none."""
    if language is None:
        return Sentiment(None, None, "language_unknown")
    if language not in SUPPORTED:
        return Sentiment(None, None, "language_not_supported")
    score = float(_analyzer().polarity_scores(text)["compound"])
    label = "positive" if score >= THRESHOLD else "negative" if score <= -THRESHOLD else "neutral"
    return Sentiment(label, score, None)
