"""`GET /v1/themes/suggestions`: words and two-word phrases over-represented in detractors' comments against
promoters', that no theme covers yet — so the codebook grows from the data.

Weighted log-odds with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words"), over
comment (document) counts: for term w cited by y_D of the detractors' and y_P of the promoters' comments, with
n_D and n_P the groups' totals of such citations, prior a_w = PRIOR · (y_D + y_P) and A0 = PRIOR · (n_D + n_P)
(the scope's own counts as the background, worth a tenth of the data),
d = log((y_D+a_w)/(n_D+A0-y_D-a_w)) - log((y_P+a_w)/(n_P+A0-y_P-a_w)), z = d / sqrt(1/(y_D+a_w) + 1/(y_P+a_w)).
Terms with z ≥ 1.96 and at least `MIN_COUNT` detractors' comments, stopwords left out. Reads the newest
`MAX_COMMENTS` comments in scope (the caller's units only, so examples never leave them).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.metrics_api.insight import Ask, resolve_ask
from services.metrics_api.metrics import MetricRequest
from services.metrics_api.queries import _fact_filters, _facts_period
from services.metrics_api.themes.facts import COMMENTS, THEMES
from services.metrics_api.themes.matching import fold, pattern_of, tokens
from services.metrics_api.themes.stopwords import stopwords
from shared.auth import Principal
from shared.errors import invalid

PRIOR = 0.1
Z_MIN = 1.959963984540054
MIN_COUNT = 3
MAX_COMMENTS = 50_000
EXAMPLES = 2


@dataclass(frozen=True)
class Comment:
    """A comment read for suggestions, with its terms."""

    response_id: str
    text: str
    nps: int
    terms: frozenset[str]


def terms_of(folded: str, language: str | None) -> frozenset[str]:
    """The words and adjacent two-word phrases of a comment, without stopwords (or phrases holding one)."""
    words = tokens(folded)
    stop = stopwords(language)
    keep = [len(w) > 1 and not w.isdigit() and w not in stop for w in words]
    found = {w for w, k in zip(words, keep, strict=True) if k}
    pairs = zip(itertools.pairwise(words), itertools.pairwise(keep), strict=False)
    found |= {f"{a} {b}" for (a, b), (k1, k2) in pairs if k1 and k2}
    return frozenset(found)


async def _comments(session: AsyncSession, ask: Ask, question: str) -> list[Comment]:
    c = COMMENTS.c
    where = [
        *_fact_filters(COMMENTS, ask.scope, ask.filters),
        *_facts_period(COMMENTS, ask.period, "day", "submitted_at"),
    ]
    where += [c.survey_id == ask.filters.survey_id, c.question == question, c.nps.is_not(None)]
    where += ask.filters.population(COMMENTS)
    query: Any = select(*(c[name] for name in ("response_id", "text", "folded", "language", "nps"))).where(*where)
    rows = (await session.exec(query.order_by(c.submitted_at.desc(), c.response_id).limit(MAX_COMMENTS))).all()
    return [Comment(r.response_id, r.text, r.nps, terms_of(r.folded, r.language)) for r in rows]


async def _theme_words(session: AsyncSession, org: str) -> list[str]:
    listed = (await session.exec(select(THEMES.c.words).where(THEMES.c.org == org))).all()
    return [word for words in listed for group in words.values() for word in group]


def _covered(term: str, theme_words: list[str]) -> bool:
    """Whether a theme word occurs in the term, or the term in a theme phrase (whole words both ways)."""
    words = pattern_of(theme_words)
    if words is not None and words.search(term):
        return True
    inside = pattern_of([term])
    return inside is not None and any(inside.search(fold(word)) for word in theme_words)


def log_odds(detractors: Counter[str], promoters: Counter[str], terms: list[str]) -> np.ndarray:
    """The z-scores of `terms`: detractors against promoters, informative Dirichlet prior from both."""
    y_d = np.array([detractors[t] for t in terms], dtype=float)
    y_p = np.array([promoters[t] for t in terms], dtype=float)
    n_d, n_p = float(sum(detractors.values())), float(sum(promoters.values()))
    alpha, a0 = PRIOR * (y_d + y_p), PRIOR * (n_d + n_p)
    delta = np.log((y_d + alpha) / (n_d + a0 - y_d - alpha)) - np.log((y_p + alpha) / (n_p + a0 - y_p - alpha))
    z: np.ndarray = delta / np.sqrt(1.0 / (y_d + alpha) + 1.0 / (y_p + alpha))
    return z


async def suggestions_answer(
    *, session: AsyncSession, principal: Principal, request: MetricRequest, limit: int
) -> dict[str, Any]:
    """The answer of `GET /v1/themes/suggestions` (see `schemas.SuggestionsAnswer`)."""
    question = request.filters.question
    if question is None:
        raise invalid("question", "name the text question to analyse", "required")
    ask = await resolve_ask(session=session, principal=principal, request=request)
    comments = await _comments(session, ask, question)
    detractors = [c for c in comments if c.nps <= 6]
    promoters = [c for c in comments if c.nps >= 9]
    by_d = Counter(t for c in detractors for t in c.terms)
    by_p = Counter(t for c in promoters for t in c.terms)
    everywhere = Counter(t for c in comments for t in c.terms)
    terms = sorted(t for t, n in by_d.items() if n >= MIN_COUNT)
    items: list[dict[str, Any]] = []
    if terms:
        theme_words = await _theme_words(session, principal.org)
        scored = sorted(zip(log_odds(by_d, by_p, terms).tolist(), terms, strict=True), key=lambda p: (-p[0], p[1]))
        for z, term in scored:
            if z < Z_MIN or len(items) >= limit:
                break
            if _covered(term, theme_words):
                continue
            shown = [c for c in detractors if term in c.terms][:EXAMPLES]
            examples = [{"response_id": c.response_id, "text": c.text, "nps": c.nps} for c in shown]
            item = {"term": term, "detractors": by_d[term], "promoters": by_p[term], "comments": everywhere[term]}
            items.append(item | {"z": z, "examples": examples})
    head = {"survey_id": ask.filters.survey_id, "question": question, "unit": ask.unit, "period": ask.period.describe()}
    return head | {
        "method": "weighted_log_odds",
        "detractors": len(detractors),
        "promoters": len(promoters),
        "items": items,
    }
