"""Checking answers against the survey version they answer: every problem found, none silently fixed."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from pydantic import TypeAdapter

from services.survey_api.catalog.models import SurveyVersion
from services.survey_api.catalog.questions import OTHER_CODE, SUCCESS_CODES, TEXT_MAX_LENGTH, Question
from shared.errors import FieldError

_questions_adapter = TypeAdapter(list[Question])
_parsed: OrderedDict[str, tuple[Question, ...]] = OrderedDict()
_PARSED_MAX = 512


def version_questions(version: SurveyVersion) -> tuple[Question, ...]:
    """The questions of a frozen survey version, parsed once per version (a version never changes)."""
    questions = _parsed.get(version.id)
    if questions is None:
        questions = tuple(_questions_adapter.validate_python(version.questions))
        _parsed[version.id] = questions
        if len(_parsed) > _PARSED_MAX:
            _parsed.popitem(last=False)
    return questions


def _error(field: str, message: str, code: str) -> FieldError:
    return FieldError(field=f"answers.{field}", message=message, code=code)


def normalise(answers: dict[str, Any]) -> dict[str, Any]:
    """Drop unanswered entries: `null`, and text that is empty once trimmed."""
    cleaned = {}
    for key, value in answers.items():
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            continue
        cleaned[key] = value
    return cleaned


def _value_errors(question: Question, value: Any) -> Iterator[FieldError]:
    key = question.key
    if question.scored:
        if type(value) is not int:  # bool is an int subclass: `true` is not a score, nor "9" or 7.5
            scale = f"{question.scale_min} to {question.scale_max}"
            yield _error(key, f"must be a whole number from {scale}", "not_integer")
        elif not question.scale_min <= value <= question.scale_max:  # type: ignore[operator]
            yield _error(key, f"{value} is outside the scale {question.scale_min}-{question.scale_max}", "out_of_scale")
    elif question.kind == "success":
        if value not in SUCCESS_CODES:  # also refuses 1/0 and true: the answer is the code itself
            yield _error(key, f"must be one of {', '.join(SUCCESS_CODES)}", "unknown_option")
    elif question.kind == "text":
        limit = question.max_length or TEXT_MAX_LENGTH
        if not isinstance(value, str):
            yield _error(key, "must be a string", "not_text")
        elif len(value) > limit:
            yield _error(key, f"is longer than {limit} characters", "too_long")
    elif question.kind == "single_choice":
        if not isinstance(value, str) or value not in question.option_codes():
            yield _error(key, f"must be one of {sorted(question.option_codes())}", "unknown_option")
    else:  # multi_choice and reasons: a list of distinct codes
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            yield _error(key, "must be a list of option codes", "not_a_list")
            return
        unknown = sorted(set(value) - question.option_codes())
        if unknown:
            yield _error(key, f"unknown option codes {unknown}", "unknown_option")
        if len(set(value)) != len(value):
            yield _error(key, "lists an option twice", "duplicate_option")


def _chose_other(value: Any) -> bool:
    return value == OTHER_CODE or (isinstance(value, list) and OTHER_CODE in value)


def _shown(question: Question, answers: dict[str, Any]) -> bool | None:
    """Whether display logic shows the question: True, False, or None while its condition is unanswered."""
    if question.show_if is None:
        return True
    return question.show_if.test(answers.get(question.show_if.question))


def check_answers(questions: tuple[Question, ...], answers: dict[str, Any], *, finished: bool) -> list[FieldError]:
    """Every problem of `answers` (already normalised) for these questions; empty when they are valid."""
    by_key = {q.key: q for q in questions}
    others = {q.other_key: q for q in questions if q.allow_other}
    errors: list[FieldError] = []
    for key, value in answers.items():
        if key in by_key:
            errors += _value_errors(by_key[key], value)
        elif key in others:
            if not isinstance(value, str) or len(value) > TEXT_MAX_LENGTH:
                errors.append(_error(key, f"must be text of at most {TEXT_MAX_LENGTH} characters", "not_text"))
            elif not _chose_other(answers.get(others[key].key)):
                errors.append(_error(key, f"is only accepted when {others[key].key!r} includes 'other'", "no_other"))
        else:
            errors.append(_error(key, "is not a question of this survey version", "unknown_question"))
    for question in questions:
        shown = _shown(question, answers)
        if question.key in answers and (shown is False or (finished and shown is None)):
            errors.append(_error(question.key, "is not shown for the answers given (display logic)", "not_shown"))
        if finished and question.required and shown and question.key not in answers:
            errors.append(_error(question.key, "is required", "required"))
        chose_other = question.allow_other and _chose_other(answers.get(question.key))
        if finished and chose_other and question.other_key not in answers:  # `other` says nothing without text
            message = f"is required when {question.key!r} includes 'other'"
            errors.append(_error(question.other_key, message, "other_text_required"))
    if finished and not answers:
        errors.append(FieldError(field="answers", message="a finished response needs answers", code="empty"))
    return errors
