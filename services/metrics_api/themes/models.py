"""The themes domain's tables: the codebook, the comments (text facts), their theme tags and the theme rollup."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, Text
from sqlmodel import Field

from services.metrics_api.models import HistogramFields, MetricsTable
from shared.db import JSONType, UTCDateTime, utcnow


class Theme(MetricsTable, table=True):
    """One code of an org's codebook: its label, its words and phrases per language, and the last re-tag's
    progress (`retag_status` running or done, `retag_done` of `retag_total` comments scanned)."""

    __tablename__ = "themes"

    org: str = Field(primary_key=True, max_length=100)
    code: str = Field(primary_key=True, max_length=40)
    label: str = Field(max_length=200)
    words: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)  # language -> [word or phrase]
    version: int = 1  # bumped by every change: a re-tag of an older version stops
    retag_status: str = Field(default="done", max_length=20)
    retag_done: int = 0
    retag_total: int = 0
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CommentFact(MetricsTable, table=True):
    """One answer to a `text` question of a finished response: the comment, its language, its sentiment, the
    response's NPS score, and the dimensions it is sliced by (as the score facts)."""

    __tablename__ = "comment_facts"
    # (org, survey_id, question, day) serves the facts path of theme metrics and suggestions; (org, contact_id)
    # erasure; the primary key re-tagging (it walks an org's comments in key order).
    __table_args__ = (
        Index("ix_comment_facts_org_survey", "org", "survey_id", "question", "day"),
        Index("ix_comment_facts_org_contact_id", "org", "contact_id"),
        Index("ix_comment_facts_org_key", "org", "response_id", "question"),
    )

    response_id: str = Field(primary_key=True, max_length=64)
    question: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    survey_id: str = Field(max_length=64)
    audience: str = Field(default="customers", max_length=20)
    purpose: str = Field(default="standard", max_length=20)
    touchpoint_id: str | None = Field(default=None, max_length=64)
    channel: str = Field(max_length=20)
    unit: str = Field(max_length=255)
    contact_id: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    submitted_at: dt.datetime = Field(sa_type=UTCDateTime)
    day: dt.date
    language: str | None = Field(default=None, max_length=8)  # primary subtag: `en`, `de`; None when unknown
    text: str = Field(sa_type=Text)
    folded: str = Field(sa_type=Text)  # NFKC, case-folded, whitespace collapsed: what theme words match
    nps: int | None = None  # the response's NPS score, if it has one
    sentiment: str | None = Field(default=None, max_length=10)  # positive | neutral | negative; None: unscored
    sentiment_score: float | None = None  # VADER's compound score, -1..1
    sentiment_reason: str | None = Field(default=None, max_length=40)  # why unscored: language_not_supported, …


class ThemeFact(MetricsTable, table=True):
    """A theme a comment carries (its words occur in the comment)."""

    __tablename__ = "theme_facts"
    __table_args__ = (Index("ix_theme_facts_org_code", "org", "code"),)

    response_id: str = Field(primary_key=True, max_length=64)
    question: str = Field(primary_key=True, max_length=40)
    code: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)


class ThemeRollup(HistogramFields, MetricsTable, table=True):
    """Comments by (org, unit ancestor, grain, day, audience, purpose, survey, text question, code): the NPS
    histogram of those with an NPS score (`h0`..`h10`, `n`), how many there are, and their sentiment.

    `code` "" counts every comment of the question; any other code the comments carrying that theme.
    """

    __tablename__ = "rollup_theme"
    __table_args__ = (Index("ix_rollup_theme_org_code", "org", "code"),)

    org: str = Field(primary_key=True, max_length=100)
    unit: str = Field(primary_key=True, max_length=255)
    grain: str = Field(primary_key=True, max_length=1)
    day: dt.date = Field(primary_key=True)
    audience: str = Field(primary_key=True, max_length=20)
    purpose: str = Field(primary_key=True, max_length=20)
    survey_id: str = Field(primary_key=True, max_length=64)
    question: str = Field(primary_key=True, max_length=40)
    code: str = Field(primary_key=True, max_length=40)
    parent: str | None = Field(default=None, max_length=255)
    comments: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unscored: int = 0
