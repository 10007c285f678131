"""Questionnaires as plain data, and reading a posted form into answers or per-question messages.

Pure: no web or database imports. Field names are made here and only here, so the templates, the handlers and
the tests agree on them. Messages for the respondent are `Message`s: English as text, shown translated by the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from survey.languages import Message
from survey.vocabulary import Dimension
from survey.web.forms import clean_text

MAX_COMMENT_LENGTH = 2000
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,6}")  # ASCII only: str.isdigit() also takes "²", which int() refuses
USED, NOT_USED = "yes", "no"
# An employee's "Not applicable / don't know": counted as an answer, never scored, stored as JSON null.
NOT_APPLICABLE = "na"


@dataclass(frozen=True)
class Question:
    item_id: int
    code: str
    dimension: str
    text: str
    scale_min: int
    scale_max: int
    low_label: str
    high_label: str

    @property
    def choices(self) -> range:
        return range(self.scale_min, self.scale_max + 1)

    @cached_property
    def value_of(self) -> dict[str, int]:
        """Each answer as the form sends it ("5") and its value."""
        return {str(value): value for value in self.choices}


@dataclass(frozen=True)
class FunctionSection:
    """The internal survey's questions about one support function."""

    function_id: int
    name: str
    questions: tuple[Question, ...]

    @property
    def use_field(self) -> str:
        return f"use-{self.function_id}"

    @property
    def comment_field(self) -> str:
        return f"comment-{self.function_id}"

    def field(self, question: Question) -> str:
        return f"q-{self.function_id}-{question.item_id}"

    @cached_property
    def fields(self) -> tuple[tuple[str, Question], ...]:
        return tuple((self.field(question), question) for question in self.questions)

    @cached_property
    def labels(self) -> dict[str, str]:
        """What each field asks, for naming it in a list of problems."""
        labels: dict[str, str] = {
            self.use_field: Message("%(function)s: did you use it?", function=self.name),
            self.comment_field: Message("%(function)s: comment", function=self.name),
        }
        return labels | {
            name: Message("%(function)s: %(question)s", function=self.name, question=question.text)
            for name, question in self.fields
        }


@dataclass(frozen=True)
class CustomerForm:
    """The external survey's questions about one front-line team, in the instrument's order. One question must be
    answered: overall satisfaction (the CSAT item; the first question if the instrument has none). Every other
    question may be skipped, and a skipped one is left out of the stored answers."""

    questions: tuple[Question, ...]
    comment_field: str = "comment"

    @staticmethod
    def field(question: Question) -> str:
        return f"q-{question.item_id}"

    @cached_property
    def required(self) -> Question | None:
        """The question every customer must answer."""
        csat = next((q for q in self.questions if q.dimension == Dimension.CSAT), None)
        return csat or next(iter(self.questions), None)

    def is_optional(self, question: Question) -> bool:
        return question != self.required

    @cached_property
    def labels(self) -> dict[str, str]:
        return {self.comment_field: Message("Comment")} | {self.field(q): q.text for q in self.questions}


@dataclass(frozen=True)
class Review:
    """What one employee said about one support function."""

    function_id: int
    used: bool
    answers: dict[int, int | None] = field(default_factory=dict)  # item id -> value; None: not applicable
    comment: str | None = None


@dataclass(frozen=True)
class CustomerAnswers:
    answers: dict[int, int]
    comment: str | None


def read_rating(raw: str | None, question: Question) -> tuple[int | None, str | None]:
    """The chosen value, or a message saying what is wrong with it."""
    if (
        value := question.value_of.get(raw or "")
    ) is not None:  # the common case, as the radio buttons send it
        return value, None
    low, high = question.scale_min, question.scale_max
    text = clean_text(raw)
    if not text:
        return None, Message("Choose an answer from %(low)d to %(high)d.", low=low, high=high)
    if not _WHOLE_NUMBER.fullmatch(text) or not low <= int(text) <= high:
        return None, Message(
            "“%(answer)s” is not one of the answers (%(low)d to %(high)d).",
            answer=text[:20],
            low=low,
            high=high,
        )
    return int(text), None


def read_comment(raw: str | None) -> tuple[str | None, str | None]:
    text = clean_text(raw)
    if len(text) > MAX_COMMENT_LENGTH:
        return None, Message(
            "Please keep comments under %(limit)d characters (this one has %(length)d).",
            limit=MAX_COMMENT_LENGTH,
            length=len(text),
        )
    return text or None, None


def read_internal_form(
    form: Mapping[str, str], sections: tuple[FunctionSection, ...]
) -> tuple[list[Review], dict[str, str]]:
    """Read an employee's answers about every support function.

    Returns the reviews and no errors, or errors keyed by field name (and reviews to ignore). A function marked
    "did not use" keeps no ratings or comment, whatever else was sent: the choice is an answer, not a gap. Every
    rating may be skipped: "not applicable / don't know" and a rating left blank are both kept as None.
    """
    reviews: list[Review] = []
    errors: dict[str, str] = {}
    for section in sections:
        use = clean_text(form.get(section.use_field))
        if use == NOT_USED:
            reviews.append(Review(section.function_id, used=False))
            continue
        if use != USED:
            errors[section.use_field] = Message(
                "Tell us whether you used %(function)s this quarter.", function=section.name
            )
            continue
        answers: dict[int, int | None] = {}
        for name, question in section.fields:
            raw = form.get(name)
            if raw == NOT_APPLICABLE or not clean_text(raw):
                answers[question.item_id] = None
                continue
            value, error = read_rating(raw, question)
            if value is None:
                errors[name] = error or Message("Choose an answer.")
            else:
                answers[question.item_id] = value
        comment, error = read_comment(form.get(section.comment_field))
        if error:
            errors[section.comment_field] = error
        reviews.append(Review(section.function_id, used=True, answers=answers, comment=comment))
    return reviews, errors


def read_customer_form(
    form: Mapping[str, str], survey: CustomerForm
) -> tuple[CustomerAnswers, dict[str, str]]:
    """Read a customer's answers. The required question (`CustomerForm.required`) must be answered; any other
    question left blank is skipped and absent from the answers; an answer outside a question's scale is an error."""
    answers: dict[int, int] = {}
    errors: dict[str, str] = {}
    for question in survey.questions:
        raw = form.get(survey.field(question))
        if survey.is_optional(question) and not clean_text(raw):
            continue
        value, error = read_rating(raw, question)
        if value is None:
            errors[survey.field(question)] = error or Message("Choose an answer.")
        else:
            answers[question.item_id] = value
    comment, error = read_comment(form.get(survey.comment_field))
    if error:
        errors[survey.comment_field] = error
    return CustomerAnswers(answers, comment), errors
