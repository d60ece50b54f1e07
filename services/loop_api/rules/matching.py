"""Which rule opens a case for a response, at what priority: pure functions over the response event.

Words are matched as literal text (escaped), case-insensitively, as whole words: a word list can never
become a user-supplied regular expression, and the scan is linear in the length of the answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeGuard, TypeVar

from services.loop_api.rules.schemas import (
    Condition,
    ReasonCondition,
    RulePublic,
    ScoreCondition,
    SuccessCondition,
    WordsCondition,
    priority_rank,
)
from shared.events import ResponseData

TEXT_KINDS = frozenset({"text"})
T = TypeVar("T")


def in_subtree(path: str | None, root: str) -> bool:
    """Whether unit `path` is `root` or lies below it."""
    return path is not None and (path == root or path.startswith(root + "/"))


def deepest(unit: str | None, candidates: Iterable[tuple[str | None, T]]) -> T | None:
    """The candidate of the deepest unit that contains `unit`; a null unit fits every unit, least deeply."""
    best: T | None = None
    best_depth = -2
    for root, candidate in candidates:
        if root is not None and not in_subtree(unit, root):
            continue
        depth = -1 if root is None else root.count("/")
        if depth > best_depth:  # the first of equally deep candidates wins
            best, best_depth = candidate, depth
    return best


def is_score(value: Any) -> TypeGuard[int]:
    """Whether an answer is an integer score (a bool is not)."""
    return type(value) is int


def first_nps(response: ResponseData) -> int | None:
    """The response's answer to its first NPS question, if it has one."""
    for question in response.questions:
        value = response.answers.get(question.key)
        if question.kind == "nps" and is_score(value):
            return value
    return None


def free_texts(response: ResponseData, key: str | None = None) -> Iterator[str]:
    """The free-text answers: text questions and `<key>_other` texts (or only the answer of `key`)."""
    kinds = {q.key: q.kind for q in response.questions}
    for answer_key, value in response.answers.items():
        if not isinstance(value, str) or (key is not None and answer_key != key):
            continue
        if kinds.get(answer_key, "text") in TEXT_KINDS:  # unknown keys are `_other` texts
            yield value


def _compare(score: int, op: str, value: int) -> bool:
    return {"<": score < value, "<=": score <= value, ">": score > value, ">=": score >= value, "==": score == value}[
        op
    ]


def _score_holds(condition: ScoreCondition, response: ResponseData) -> bool:
    keys = [
        q.key
        for q in response.questions
        if q.key == condition.question_key
        or (condition.question_kind is not None and q.kind == condition.question_kind)
    ]
    scores = [response.answers.get(k) for k in keys]
    return any(is_score(s) and _compare(s, condition.op, condition.value) for s in scores)


def _success_holds(condition: SuccessCondition, response: ResponseData) -> bool:
    for question in response.questions:
        if question.kind != "success" or condition.question_key not in (None, question.key):
            continue
        answer = response.answers.get(question.key)
        if isinstance(answer, str) and condition.holds(answer):
            return True
    return False


def _reason_holds(condition: ReasonCondition, response: ResponseData) -> bool:
    for question in response.questions:
        if question.kind != "reasons" or condition.question_key not in (None, question.key):
            continue
        picked = response.answers.get(question.key)
        if isinstance(picked, list) and condition.code in picked:
            return True
    return False


@lru_cache(maxsize=1024)
def words_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """One alternation of the escaped words, anchored on non-word characters on both sides."""
    alternatives = "|".join(re.escape(w.casefold()) for w in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _words_hold(condition: WordsCondition, response: ResponseData) -> bool:
    pattern = words_pattern(tuple(condition.words))
    return any(pattern.search(text.casefold()) for text in free_texts(response, condition.question_key))


def condition_holds(condition: Condition, response: ResponseData) -> bool:
    """Whether one condition is true of the response."""
    if isinstance(condition, ScoreCondition):
        return _score_holds(condition, response)
    if isinstance(condition, SuccessCondition):
        return _success_holds(condition, response)
    if isinstance(condition, ReasonCondition):
        return _reason_holds(condition, response)
    return _words_hold(condition, response)


def in_scope(rule: RulePublic, response: ResponseData) -> bool:
    """Whether the response is of the rule's audience and purpose, survey, touchpoint and unit subtree (when set).

    A rule answers one audience and one purpose (customers' standard answers by default): an employee answer
    or a follow-up answer opens a case only through a rule that names it.
    """
    if rule.audience != response.audience or rule.purpose != response.purpose:
        return False
    if rule.survey_id is not None and rule.survey_id != response.survey_id:
        return False
    if rule.touchpoint_id is not None and rule.touchpoint_id != response.touchpoint_id:
        return False
    return rule.unit is None or in_subtree(response.unit, rule.unit)


def rule_matches(rule: RulePublic, response: ResponseData) -> bool:
    """Whether an active rule applies: in scope, and all (or any) of its conditions hold."""
    if not rule.active or not in_scope(rule, response):
        return False
    results = (condition_holds(c, response) for c in rule.conditions)
    return all(results) if rule.match == "all" else any(results)


def rule_priority(rule: RulePublic, attributes: dict[str, Any]) -> str:
    """The rule's priority, raised (never lowered) by each contact attribute that matches."""
    priority = rule.priority
    for raise_ in rule.priority_by_attribute:
        value = attributes.get(raise_.attribute)
        same = value == raise_.equals and type(value) is type(raise_.equals)  # "1" is not 1, True is not 1
        if same and priority_rank(raise_.priority) > priority_rank(priority):
            priority = raise_.priority
    return priority


@dataclass(frozen=True)
class Match:
    """The rule that opens the case and the priority it gives."""

    rule: RulePublic
    priority: str


def choose_rule(rules: Sequence[RulePublic], response: ResponseData) -> Match | None:
    """The matching rule of highest priority; ties go to the lowest `order`, then the oldest rule."""
    matches = [Match(r, rule_priority(r, response.attributes)) for r in rules if rule_matches(r, response)]
    if not matches:
        return None
    return min(matches, key=lambda m: (-priority_rank(m.priority), m.rule.order, m.rule.id))
