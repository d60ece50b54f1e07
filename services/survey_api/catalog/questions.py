"""The question model of a survey: kinds, scales, options, prompts per language and display logic."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from shared.schemas.common import Language

QuestionKind = Literal[
    "nps", "csat", "ces", "rating", "success", "emotion", "single_choice", "multi_choice", "text", "reasons"
]
SCORED_KINDS = frozenset({"nps", "csat", "ces", "rating", "emotion"})
CHOICE_KINDS = frozenset({"single_choice", "multi_choice", "reasons"})
DEFAULT_SCALES: dict[str, tuple[int, int]] = {
    "nps": (0, 10),
    "csat": (1, 5),
    "ces": (1, 7),
    "rating": (1, 5),
    "emotion": (1, 5),
}
FIXED_SCALES = frozenset({"nps", "emotion"})  # their meaning is their scale: 0-10, and five faces
# `success`: did the customer get done what they came for? Answered with one of these codes, best first.
SuccessCode = Literal["yes", "partly", "no"]
SUCCESS_CODES: tuple[str, ...] = ("yes", "partly", "no")
OTHER_CODE = "other"
TEXT_MAX_LENGTH = 5000
MAX_QUESTIONS = 100
MAX_OPTIONS = 100

QuestionKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
OptionCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
LocalizedText = Annotated[dict[Language, Text], Field(min_length=1, max_length=50)]


class Option(BaseModel):
    """One choice (or one known problem of an NPS+ `reasons` list): a stable code and a label per language."""

    model_config = ConfigDict(extra="forbid")

    code: OptionCode
    label: LocalizedText


class ShowIf(BaseModel):
    """Show a question only when an earlier answer compares true: a score (`{"question": "nps", "op": "<=",
    "value": 6}`) or a success answer (`{"question": "success", "op": "in", "value": ["partly", "no"]}`)."""

    model_config = ConfigDict(extra="forbid")

    question: QuestionKey
    op: Literal["<", "<=", ">", ">=", "==", "in"]
    value: StrictInt | SuccessCode | list[StrictInt] | list[SuccessCode] = Field(
        description="An integer (or list of them) for a scored question; yes, partly, no (or a list) for success"
    )

    @model_validator(mode="after")
    def _value_fits_op(self) -> ShowIf:
        if (self.op == "in") != isinstance(self.value, list):
            raise ValueError("`in` takes a list of values; the other operators take one value")
        if isinstance(self.value, list) and not 1 <= len(self.value) <= 11:
            raise ValueError("`in` takes 1 to 11 values")
        if self.compares_codes and self.op not in ("==", "in"):
            raise ValueError("a success answer compares with `==` or `in` only")
        return self

    @property
    def compares_codes(self) -> bool:
        """Whether the condition compares a success code (yes, partly, no) rather than a score."""
        values = self.value if isinstance(self.value, list) else [self.value]
        return any(isinstance(value, str) for value in values)

    def test(self, answer: Any) -> bool | None:
        """Whether the condition holds for this answer of the referenced question; None while it has none."""
        if self.compares_codes:
            return self.holds(answer) if isinstance(answer, str) else None
        return self.holds(answer) if type(answer) is int else None  # a bool is not a score

    def holds(self, score: int | str) -> bool:
        """Whether the condition is true for this score (or success code) of the referenced question."""
        value = self.value
        if isinstance(value, list):
            return score in value
        if isinstance(score, str) or isinstance(value, str):
            return score == value
        return {
            "<": score < value,
            "<=": score <= value,
            ">": score > value,
            ">=": score >= value,
            "==": score == value,
        }[self.op]


class Question(BaseModel):
    """One question. Scored kinds have an integer scale inside 0-10; choice kinds have options.

    `success` is answered `yes`, `partly` or `no`; the page labels them in its own words unless `options`
    relabels those three codes per language. `emotion` is answered 1 (very negative) to 5 (very positive).
    """

    model_config = ConfigDict(extra="forbid")

    key: QuestionKey
    kind: QuestionKind
    prompt: LocalizedText
    required: bool = False
    scale_min: int | None = Field(default=None, ge=0, le=10)
    scale_max: int | None = Field(default=None, ge=0, le=10)
    options: list[Option] | None = Field(default=None, max_length=MAX_OPTIONS)
    allow_other: bool = Field(default=False, description="choice and reasons: accept the code `other` with text")
    max_length: int | None = Field(default=None, ge=1, le=TEXT_MAX_LENGTH, description="text: longest answer")
    show_if: ShowIf | None = None

    @model_validator(mode="after")
    def _shape_fits_kind(self) -> Question:
        if self.kind in SCORED_KINDS:
            self._check_scale()
        elif self.scale_min is not None or self.scale_max is not None:
            raise ValueError(f"{self.kind} questions have no scale")
        if self.kind in CHOICE_KINDS:
            self._check_options()
        elif self.kind == "success":
            self._check_success_labels()
        elif self.options is not None or self.allow_other:
            raise ValueError(f"{self.kind} questions have no options")
        if self.max_length is not None and self.kind != "text":
            raise ValueError("max_length is for text questions")
        return self

    def _check_scale(self) -> None:
        low, high = DEFAULT_SCALES[self.kind]
        if self.kind in FIXED_SCALES and (self.scale_min, self.scale_max) not in {(None, None), (low, high)}:
            name = "NPS" if self.kind == "nps" else self.kind
            raise ValueError(f"the {name} scale is {low}-{high} and cannot be changed")
        self.scale_min = low if self.scale_min is None else self.scale_min
        self.scale_max = high if self.scale_max is None else self.scale_max
        if self.scale_max - self.scale_min < 2:
            raise ValueError("a scale needs at least three points (scale_min < scale_max - 1)")

    def _check_options(self) -> None:
        if not self.options:
            raise ValueError(f"{self.kind} questions need options")
        codes = [o.code for o in self.options]
        if len(set(codes)) != len(codes):
            raise ValueError("option codes must be unique")
        if OTHER_CODE in codes:
            raise ValueError(f"`{OTHER_CODE}` is reserved: set allow_other instead")

    def _check_success_labels(self) -> None:
        codes = [o.code for o in self.options or []]
        if self.allow_other:
            raise ValueError("success questions are answered yes, partly or no: no `other`")
        if self.options is not None and sorted(codes) != sorted(SUCCESS_CODES):
            raise ValueError("success options relabel exactly the codes yes, partly and no (or leave options out)")
        if self.options is not None:  # always shown best first, whatever order they were given in
            self.options.sort(key=lambda o: SUCCESS_CODES.index(o.code))

    @property
    def scored(self) -> bool:
        """Whether answers are integer scores (nps, csat, ces, rating, emotion)."""
        return self.kind in SCORED_KINDS

    @property
    def other_key(self) -> str:
        """The answer key that carries the free text of `other` (`reasons_other` for `reasons`)."""
        return f"{self.key}_{OTHER_CODE}"

    def option_codes(self) -> set[str]:
        """The codes an answer may pick (with `other` when allowed)."""
        codes = {o.code for o in self.options or []}
        return codes | {OTHER_CODE} if self.allow_other else codes


Questions = Annotated[list[Question], Field(min_length=1, max_length=MAX_QUESTIONS)]
