"""metrics_api's tables; no other service imports them.

Facts are one row per scored answer (and per cited reason, per invitation); rollups are additive histograms
(`h0`..`h10`, `n`) per unit ancestor, day or month, and a coarse dimension, kept equal to a recount of the facts.
Every fact and rollup row belongs to one audience (`customers`, `employees`) and purpose (`standard`,
`followup`): readers pick theirs, so employee and follow-up answers never mix into the customers' figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from shared.db import JSONType, UTCDateTime, new_registry, utcnow
from shared.idempotency import IdempotencyRecordFields
from shared.org_settings import OrgSettingsFields
from shared.outbox import InboxFields, OutboxEventFields

SCORES = range(11)  # every scored scale lies inside 0..10
HISTOGRAM_COLUMNS = tuple(f"h{s}" for s in SCORES)


class MetricsTable(SQLModel, registry=new_registry()):
    """The base of every metrics_api table (its own metadata, its own migrations)."""


class Target(MetricsTable, table=True):
    """The goal for one metric on one scope (org or unit, optionally a survey, touchpoint, question) over a period."""

    __tablename__ = "targets"
    # (org, metric) serves the `metric` filter and the overlap check; (org, unit) the `unit` filter.
    __table_args__ = (
        Index("ix_targets_org_metric", "org", "metric"),
        Index("ix_targets_org_unit", "org", "unit"),
    )

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    metric: str = Field(max_length=20)
    audience: str = Field(default="customers", max_length=20)
    unit: str | None = Field(default=None, max_length=255)
    survey_id: str | None = Field(default=None, max_length=64)
    touchpoint_id: str | None = Field(default=None, max_length=64)
    question: str | None = Field(default=None, max_length=40)
    value: float
    period_start: dt.date
    period_end: dt.date
    name: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Benchmark(MetricsTable, table=True):
    """An external reference value for a metric (an industry average, a competitor's score) on a scope."""

    __tablename__ = "benchmarks"
    __table_args__ = (Index("ix_benchmarks_org_metric", "org", "metric"),)

    id: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    metric: str = Field(max_length=20)
    value: float
    name: str = Field(max_length=200)
    source: str | None = Field(default=None, max_length=500)
    unit: str | None = Field(default=None, max_length=255)
    touchpoint_id: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScoreFact(MetricsTable, table=True):
    """One scored answer of a finished response, with the dimensions it is sliced by."""

    __tablename__ = "score_facts"
    # (org, day) serves every period filter; (org, unit) the subtree filter; (org, submitted_at) instant ranges;
    # (org, contact_id) erasure; the primary key (response_id, …) replacing a response's facts.
    __table_args__ = (
        Index("ix_score_facts_org_day", "org", "day"),
        Index("ix_score_facts_org_unit", "org", "unit"),
        Index("ix_score_facts_org_submitted_at", "org", "submitted_at"),
        Index("ix_score_facts_org_contact_id", "org", "contact_id"),
    )

    response_id: str = Field(primary_key=True, max_length=64)
    question: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    survey_id: str = Field(max_length=64)
    survey_version: int
    audience: str = Field(default="customers", max_length=20)  # customers | employees (no contact_id kept)
    purpose: str = Field(default="standard", max_length=20)  # standard | followup
    kind: str = Field(max_length=20)
    scale_min: int
    scale_max: int
    score: int
    touchpoint_id: str | None = Field(default=None, max_length=64)
    channel: str = Field(max_length=20)
    unit: str = Field(max_length=255)  # "" when the response has no unit (the org root)
    contact_id: str | None = Field(default=None, max_length=64)
    attributes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)  # scalar values, as strings
    submitted_at: dt.datetime = Field(sa_type=UTCDateTime)
    day: dt.date  # of submitted_at, in the org's time zone


class ReasonFact(MetricsTable, table=True):
    """One reason code a finished response cited in an NPS+ `reasons` question."""

    __tablename__ = "reason_facts"
    __table_args__ = (Index("ix_reason_facts_org_day", "org", "day"),)

    response_id: str = Field(primary_key=True, max_length=64)
    question: str = Field(primary_key=True, max_length=40)
    code: str = Field(primary_key=True, max_length=40)
    org: str = Field(max_length=100)
    survey_id: str = Field(max_length=64)
    audience: str = Field(default="customers", max_length=20)
    purpose: str = Field(default="standard", max_length=20)
    touchpoint_id: str | None = Field(default=None, max_length=64)
    channel: str = Field(max_length=20)
    unit: str = Field(max_length=255)
    submitted_at: dt.datetime = Field(sa_type=UTCDateTime)
    day: dt.date


class ResponseState(MetricsTable, table=True):
    """What metrics_api last applied of a response: its `updated_at` (older events are ignored) and erasure."""

    __tablename__ = "response_state"

    response_id: str = Field(primary_key=True, max_length=64)
    org: str = Field(max_length=100)
    updated_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: erased before it arrived
    finished: bool = False
    erased: bool = False


class ErasedContact(MetricsTable, table=True):
    """A contact erased in survey_api: a response of it that arrives later is stored without contact data."""

    __tablename__ = "erased_contacts"

    org: str = Field(primary_key=True, max_length=100)
    contact_id: str = Field(primary_key=True, max_length=64)
    erased_at: dt.datetime = Field(sa_type=UTCDateTime)


class InvitationFact(MetricsTable, table=True):
    """One invitation: its latest status and the first time it reached each stage (for response rates)."""

    __tablename__ = "invitation_facts"
    __table_args__ = (
        Index("ix_invitation_facts_org_invited_day", "org", "invited_day"),
        Index("ix_invitation_facts_org_invited_at", "org", "invited_at"),
    )

    invitation_id: str = Field(primary_key=True, max_length=64)
    org: str = Field(max_length=100)
    survey_id: str = Field(max_length=64)
    distribution_id: str | None = Field(default=None, max_length=64)
    channel: str = Field(max_length=20)
    unit: str = Field(max_length=255)
    touchpoint_id: str | None = Field(default=None, max_length=64)
    status: str = Field(max_length=20)
    status_at: dt.datetime = Field(sa_type=UTCDateTime)
    invited_at: dt.datetime = Field(sa_type=UTCDateTime)  # the earliest time known of it
    invited_day: dt.date  # of invited_at, in the org's time zone
    sent_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)  # delivered or any later stage
    completed_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)
    bounced_at: dt.datetime | None = Field(default=None, sa_type=UTCDateTime)


class OutcomeFact(MetricsTable, table=True):
    """A business outcome of a contact (from `outcome.recorded`): what value linkage joins to the NPS answers."""

    __tablename__ = "outcome_facts"
    # (org, contact_id, kind, occurred_at) serves the linkage join and erasure.
    __table_args__ = (Index("ix_outcome_facts_contact", "org", "contact_id", "kind", "occurred_at"),)

    outcome_id: str = Field(primary_key=True, max_length=64)
    org: str = Field(max_length=100)
    contact_id: str = Field(max_length=64)
    kind: str = Field(max_length=20)
    value: float | None = None
    occurred_at: dt.datetime = Field(sa_type=UTCDateTime)


class HistogramFields(SQLModel):
    """The additive part of a rollup row: answers per score and their total."""

    h0: int = 0
    h1: int = 0
    h2: int = 0
    h3: int = 0
    h4: int = 0
    h5: int = 0
    h6: int = 0
    h7: int = 0
    h8: int = 0
    h9: int = 0
    h10: int = 0
    n: int = 0


class KindRollup(HistogramFields, MetricsTable, table=True):
    """Answers per score by (org, unit ancestor, grain, day, kind, scale): what scorecards and plain metrics read.

    `grain` is `d` (one day) or `m` (the month starting on `day`). `unit` is every ancestor of the answer's unit,
    from the org root `""` down; `parent` is its parent (None for the root), so a league table reads children.
    """

    __tablename__ = "rollup_kind"
    __table_args__ = (Index("ix_rollup_kind_children", "org", "parent", "grain", "day"),)

    org: str = Field(primary_key=True, max_length=100)
    unit: str = Field(primary_key=True, max_length=255)
    grain: str = Field(primary_key=True, max_length=1)
    day: dt.date = Field(primary_key=True)
    audience: str = Field(primary_key=True, max_length=20)
    purpose: str = Field(primary_key=True, max_length=20)
    kind: str = Field(primary_key=True, max_length=20)
    scale_min: int = Field(primary_key=True)
    scale_max: int = Field(primary_key=True)
    parent: str | None = Field(default=None, max_length=255)


class QuestionRollup(HistogramFields, MetricsTable, table=True):
    """Answers per score by (org, unit ancestor, grain, day, survey, question, kind, scale): survey metrics."""

    __tablename__ = "rollup_question"
    __table_args__ = (Index("ix_rollup_question_children", "org", "parent", "grain", "day"),)

    org: str = Field(primary_key=True, max_length=100)
    unit: str = Field(primary_key=True, max_length=255)
    grain: str = Field(primary_key=True, max_length=1)
    day: dt.date = Field(primary_key=True)
    audience: str = Field(primary_key=True, max_length=20)
    purpose: str = Field(primary_key=True, max_length=20)
    survey_id: str = Field(primary_key=True, max_length=64)
    question: str = Field(primary_key=True, max_length=40)
    kind: str = Field(primary_key=True, max_length=20)
    scale_min: int = Field(primary_key=True)
    scale_max: int = Field(primary_key=True)
    parent: str | None = Field(default=None, max_length=255)


class ResponseRollup(MetricsTable, table=True):
    """Finished responses with a scored answer by (org, unit ancestor, grain, day): the scorecard's response count.

    A response's score facts share its unit and day, so summing `n` over disjoint subtrees counts each once.
    """

    __tablename__ = "rollup_response"

    org: str = Field(primary_key=True, max_length=100)
    unit: str = Field(primary_key=True, max_length=255)
    grain: str = Field(primary_key=True, max_length=1)
    day: dt.date = Field(primary_key=True)
    audience: str = Field(primary_key=True, max_length=20)
    purpose: str = Field(primary_key=True, max_length=20)
    parent: str | None = Field(default=None, max_length=255)
    n: int = 0


class ReasonRollup(MetricsTable, table=True):
    """Reason facts by (org, unit ancestor, grain, day, code): the scorecard's top reasons."""

    __tablename__ = "rollup_reason"

    org: str = Field(primary_key=True, max_length=100)
    unit: str = Field(primary_key=True, max_length=255)
    grain: str = Field(primary_key=True, max_length=1)
    day: dt.date = Field(primary_key=True)
    audience: str = Field(primary_key=True, max_length=20)
    purpose: str = Field(primary_key=True, max_length=20)
    code: str = Field(primary_key=True, max_length=40)
    parent: str | None = Field(default=None, max_length=255)
    n: int = 0


class ReasonScoreRollup(HistogramFields, MetricsTable, table=True):
    """NPS scores of the responses citing a reason, by (org, unit ancestor, grain, day, audience, purpose, survey,
    question, code): reason impact (NPS with and without each reason) without reading the facts.

    A response citing a code counts once per NPS answer it has (surveys have one NPS question).
    """

    __tablename__ = "rollup_reason_score"

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


class OutboxEvent(OutboxEventFields, MetricsTable, table=True):
    """Events metrics_api owes its subscribers, written in the transaction of the change."""

    __tablename__ = "outbox"


class InboxEvent(InboxFields, MetricsTable, table=True):
    """Ids of the events metrics_api has processed: a repeated delivery is recognised and skipped."""

    __tablename__ = "inbox"


class IdempotencyRecord(IdempotencyRecordFields, MetricsTable, table=True):
    """Creating requests seen with an `Idempotency-Key`, and their first answers."""

    __tablename__ = "idempotency_keys"


class OrgSettingsRow(OrgSettingsFields, MetricsTable, table=True):
    """metrics_api's per-org settings document."""

    __tablename__ = "org_settings"
