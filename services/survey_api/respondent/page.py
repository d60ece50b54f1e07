"""The hosted survey page: posted forms to answers, which questions a page shows, and what its template gets.

Without JavaScript the survey is answered in steps: a page ends before the first question whose display
condition is still unanswered (page 1 asks the score, page 2 the follow-up it shows). With JavaScript a
small script shows and hides those questions live, so one page holds everything. Either way the form
carries the keys the respondent has been shown (`_seen`): a question shown for the first time by the
answers just posted gets a page of its own before the response is finished. Progress is saved as a
partial response after each step; answers that display logic hides are removed rather than refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.datastructures import FormData

from services.survey_api.catalog.questions import OTHER_CODE, SUCCESS_CODES, Question
from services.survey_api.catalog.surveys import respondent_title
from services.survey_api.respondent.answering import (
    Respondent,
    mark_opened,
    point_labels,
    save_answers,
    scale_labels,
)
from services.survey_api.respondent.i18n import localized, ui, ui_language
from services.survey_api.responses.answers import check_answers, normalise
from shared.errors import FieldError, Unprocessable

SEEN_FIELD, LANG_FIELD = "_seen", "_lang"
MULTIPLE = frozenset({"multi_choice", "reasons"})
ASSETS = {"hosted.css": "text/css; charset=utf-8", "hosted.js": "text/javascript; charset=utf-8"}
_ERROR_WORDS = {
    "required": "error_required",
    "not_integer": "error_choice",
    "out_of_scale": "error_choice",
    "unknown_option": "error_choice",
    "not_a_list": "error_choice",
    "duplicate_option": "error_choice",
    "too_long": "error_too_long",
    "no_other": "error_no_other",
    "not_shown": "error_not_shown",
    "empty": "error_empty",
}

_templates = Environment(
    loader=PackageLoader("services.survey_api.respondent", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def asset(name: str) -> bytes:
    """A static file of the hosted pages (only the ones in `ASSETS`)."""
    return (resources.files("services.survey_api.respondent") / "static" / name).read_bytes()


ASSET_VERSION = hashlib.sha256(b"".join(asset(name) for name in sorted(ASSETS))).hexdigest()[:12]


@dataclass
class Page:
    """A page to send: its template, what the template gets, and the HTTP status."""

    template: str
    context: dict[str, Any]
    status: int = 200


def render(page: Page) -> str:
    """The HTML of a page."""
    return _templates.get_template(page.template).render(asset_version=ASSET_VERSION, **page.context)


def message(language: str, title: str, body: str, *, status: int = 200, **extra: Any) -> Page:
    """A page that only says something (thank you, expired, not found …); `title`/`body` are UI word keys."""
    words = ui(language)
    context = {
        "lang": ui_language(language),
        "ui": words,
        "title": words[title],
        "body": words[body],
        "form": None,
        **extra,
    }
    return Page("message.html", context, status)


def shown(question: Question, answers: Mapping[str, Any]) -> bool | None:
    """Whether display logic shows a question: True, False, or None while its condition is unanswered."""
    if question.show_if is None:
        return True
    return question.show_if.test(answers.get(question.show_if.question))


def _chose_other(value: Any) -> bool:
    return value == OTHER_CODE or (isinstance(value, list) and OTHER_CODE in value)


def _texts(form: FormData, name: str) -> list[str]:
    return [value for value in form.getlist(name) if isinstance(value, str)]


def _posted(question: Question, form: FormData) -> Any:
    values = _texts(form, question.key)
    if question.kind in MULTIPLE:
        return values or None
    if not values:
        return None
    value = values[0]
    if question.scored and value.isascii() and value.isdigit() and len(value) <= 3:
        return int(value)
    return value


def form_answers(questions: Sequence[Question], form: FormData) -> dict[str, Any]:
    """Every answer a posted form holds, None for each question left empty (so a cleared answer is removed)."""
    answers: dict[str, Any] = {}
    for question in questions:
        answers[question.key] = _posted(question, form)
        if question.allow_other:
            texts = _texts(form, question.other_key)
            answers[question.other_key] = texts[0] if texts else None
    return answers


def prune(questions: Sequence[Question], answers: Mapping[str, Any]) -> dict[str, Any]:
    """Clear what the page does not show: answers display logic hides, `other` text without `other` chosen."""
    pruned = dict(answers)
    for question in questions:
        if question.show_if is not None and shown(question, pruned) is not True:
            pruned[question.key] = None
        if question.allow_other and not _chose_other(pruned.get(question.key)):
            pruned[question.other_key] = None
    return pruned


def layout(questions: Sequence[Question], answers: Mapping[str, Any], seen: set[str]) -> tuple[list[Question], bool]:
    """The questions a page shows and whether it is the last one.

    A page ends before a question whose condition is unanswered, unless the respondent has seen that
    condition and may leave it empty (it is optional): then the question is simply not shown.
    """
    page: list[Question] = []
    required = {question.key for question in questions if question.required}
    for question in questions:
        state = shown(question, answers)
        condition = question.show_if.question if question.show_if is not None else None
        if state is None and (condition not in seen or condition in required):
            return page, False
        if state:
            page.append(question)
    return page, True


def step_errors(questions: tuple[Question, ...], answers: dict[str, Any], seen: set[str]) -> list[FieldError]:
    """The problems of one step: invalid answers, and required questions the respondent saw but left empty."""
    errors = check_answers(questions, answers, finished=False)
    for question in questions:
        if question.required and question.key in seen and shown(question, answers) and question.key not in answers:
            errors.append(FieldError(field=f"answers.{question.key}", message="is required", code="required"))
    return errors


def seen_keys(form: FormData, questions: Sequence[Question]) -> set[str]:
    """The question keys the posted page says the respondent has been shown."""
    posted = {key for value in _texts(form, SEEN_FIELD) for key in value.split(",")}
    return posted & {question.key for question in questions}


async def show(session: AsyncSession, respondent: Respondent) -> Page:
    """The page a respondent opens (the invitation becomes `opened`), with the answers saved so far."""
    mark_opened(session, respondent)
    return survey_page(respondent, respondent.saved, seen=set())


async def submit(session: AsyncSession, respondent: Respondent, form: FormData) -> Page:
    """Take a posted page: check it, save progress, and show the next page, the errors, or the thank-you."""
    questions, seen = respondent.questions, seen_keys(form, respondent.questions)
    answers = prune(questions, form_answers(questions, form))
    current = normalise(answers)
    errors = step_errors(questions, current, seen)
    if errors:
        return survey_page(respondent, current, seen=seen, errors=errors)
    page, last = layout(questions, current, seen)
    finished = last and all(question.key in seen for question in page)
    try:
        if finished:
            await save_answers(session, respondent, answers, finished=True)
            return message(respondent.language, "thanks_title", "thanks_body")
        if current != respondent.saved and (current or respondent.response is not None):
            await save_answers(session, respondent, answers, finished=False)
    except Unprocessable as exc:
        return survey_page(respondent, current, seen=seen, errors=exc.errors or [])
    return survey_page(respondent, current, seen=seen)


@dataclass
class Choice:
    """One radio button or checkbox."""

    value: str
    label: str
    checked: bool


@dataclass
class FieldView:
    """One question as the template draws it."""

    question: Question
    prompt: str
    hidden: bool
    choices: list[Choice] = field(default_factory=list)
    low: str | None = None
    high: str | None = None
    text: str = ""
    other_text: str = ""
    error: str | None = None
    other_error: str | None = None

    @property
    def show_if(self) -> str | None:
        """The display condition as JSON, for the script."""
        condition = self.question.show_if
        return json.dumps(condition.model_dump(mode="json")) if condition is not None else None

    @property
    def first_input(self) -> str:
        """The id of the field's first input (what the error summary links to)."""
        return f"q-{self.question.key}-0" if self.choices else f"q-{self.question.key}-input"


def _choices(question: Question, value: Any, language: str, default: str) -> list[Choice]:
    picked = set(value) if isinstance(value, list) else {str(value)} if value is not None else set()
    if question.scored:
        assert question.scale_min is not None and question.scale_max is not None
        points = range(question.scale_min, question.scale_max + 1)
        labels = point_labels(question, language) or {}
        return [Choice(str(p), labels.get(str(p), str(p)), str(p) in picked) for p in points]
    if question.kind == "success" and question.options is None:  # yes, partly, no in the page's own words
        words = ui(language)
        return [Choice(code, words[f"success_{code}"], code in picked) for code in SUCCESS_CODES]
    choices = [Choice(o.code, localized(o.label, language, default), o.code in picked) for o in question.options or []]
    if question.allow_other:
        choices.append(Choice(OTHER_CODE, ui(language)["other"], OTHER_CODE in picked))
    return choices


def field_view(
    respondent: Respondent, question: Question, answers: Mapping[str, Any], errors: Mapping[str, str], hidden: bool
) -> FieldView:
    """What the template needs to draw one question with its current answer and errors."""
    language, default = respondent.language, respondent.version.default_language
    value = answers.get(question.key)
    ends = scale_labels(question, language)
    return FieldView(
        question=question,
        prompt=localized(question.prompt, language, default),
        hidden=hidden,
        choices=[] if question.kind == "text" else _choices(question, value, language, default),
        low=ends.low if ends else None,
        high=ends.high if ends else None,
        text=value if isinstance(value, str) and question.kind == "text" else "",
        other_text=str(answers.get(question.other_key) or "") if question.allow_other else "",
        error=errors.get(question.key),
        other_error=errors.get(question.other_key) if question.allow_other else None,
    )


def _error_texts(errors: Iterable[FieldError], language: str) -> tuple[dict[str, str], list[str]]:
    """Errors by the input they belong to (`answers.<name>` → name), and the ones of no single input."""
    words, by_input, general = ui(language), dict[str, str](), list[str]()
    for error in errors:
        text = words[_ERROR_WORDS.get(error.code, "error_generic")]
        name = error.field.removeprefix("answers.") if error.field.startswith("answers.") else None
        if name is None:
            general.append(text)
        else:
            by_input.setdefault(name, text)
    return by_input, general


def survey_page(
    respondent: Respondent, answers: Mapping[str, Any], *, seen: set[str], errors: Iterable[FieldError] = ()
) -> Page:
    """The survey form: every question (those not on this step hidden), errors inline and summarised."""
    language, questions = respondent.language, respondent.questions
    by_input, general = _error_texts(errors, language)
    page, last = layout(questions, answers, seen)
    on_page = {question.key for question in page}
    fields = [field_view(respondent, q, answers, by_input, q.key not in on_page) for q in questions]
    known = {q.key for q in questions} | {q.other_key for q in questions if q.allow_other}
    general += [text for name, text in by_input.items() if name not in known]
    context = {
        "lang": language,
        "ui": ui(language),
        "title": respondent_title(respondent.version, language),
        "languages": respondent.version.languages,
        "fields": fields,
        "seen": ",".join(sorted(seen | on_page)),
        "last": last,
        "general_errors": general,
        "has_errors": bool(by_input or general),
    }
    return Page("survey.html", context, 422 if context["has_errors"] else 200)
