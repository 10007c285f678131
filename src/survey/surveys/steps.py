"""The employee survey in steps: a checklist of the support functions used this quarter, then one step per
function used (or, when none was used, a step that confirms it), then the final submit.

Nothing is stored before the final submit: every step is a POST carrying all the answers so far (the step on
screen as fields, the others as hidden fields), and this module only works out which step to show next. Every
field, hidden or not, is untrusted and checked again on each step.

Pure: no web or database imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from survey.languages import Message
from survey.surveys.questionnaire import NOT_USED, USED, FunctionSection, read_internal_form
from survey.web.forms import clean_text

STEP_FIELD = "step"
GO_FIELD = "go"
NEXT, BACK, STAY, SUBMIT = "next", "back", "stay", "submit"
CHECKLIST = 0  # the step number of "which of these did you use?"


class StepRefused(ValueError):
    """A step or a move that no page of the survey offers; `reason` says which field and why."""

    def __init__(self, reason: Message):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Page:
    """One step of the survey, with everything sent so far.

    `number` is 0 for the checklist, 1 to `len(used)` for the functions used, and 1 for the confirm step when
    no function was used."""

    number: int
    used: tuple[FunctionSection, ...]
    values: dict[str, str]
    errors: dict[str, str]

    @property
    def kind(self) -> str:
        if self.number == CHECKLIST:
            return "checklist"
        return "function" if self.used else "confirm"

    @property
    def section(self) -> FunctionSection | None:
        """The function this step asks about; None on the checklist and confirm steps."""
        return self.used[self.number - 1] if self.kind == "function" else None

    @property
    def is_last(self) -> bool:
        return self.number == last_step(self.used)

    @property
    def hidden(self) -> list[tuple[str, str]]:
        """The answers this step does not show, to send on with the form as hidden fields."""
        section = self.section
        shown = {name for name, _ in section.fields} | {section.comment_field} if section else set()
        if self.kind == "checklist":  # its boxes say which functions were used
            shown |= {name for name in self.values if name.startswith("use-")}
        return [(name, value) for name, value in self.values.items() if name not in shown and value]


def last_step(used: tuple[FunctionSection, ...]) -> int:
    return max(len(used), 1)


def first_page() -> Page:
    return Page(CHECKLIST, (), {}, {})


def page_with_errors(values: dict[str, str], sections: tuple[FunctionSection, ...], errors) -> Page:
    """The step holding the first answer with an error, with every answer sent so far."""
    used = tuple(s for s in sections if values.get(s.use_field) == USED)
    return Page(step_of_first_error(errors, used), used, values, errors)


def answers_sent(form: Mapping[str, object], sections: tuple[FunctionSection, ...]) -> dict[str, str]:
    """The survey's own fields from a posted form, as text; anything else sent is dropped. On the checklist a
    function is used when its box is ticked (an unticked box sends nothing); on every other step each function's
    use travels as an explicit "yes" or "no"."""
    on_checklist = clean_text(form.get(STEP_FIELD)) == str(CHECKLIST)
    values: dict[str, str] = {}
    for section in sections:
        use = form.get(section.use_field)
        if on_checklist:
            values[section.use_field] = USED if use == USED else NOT_USED
        elif isinstance(use, str):
            values[section.use_field] = use
        for name in (*(name for name, _ in section.fields), section.comment_field):
            value = form.get(name)
            if isinstance(value, str) and value:
                values[name] = value
    return values


def posted_step(form: Mapping[str, object], used: tuple[FunctionSection, ...]) -> int:
    """The number of the step the form was sent from. Raises StepRefused for one this survey does not have."""
    text = clean_text(form.get(STEP_FIELD))
    if not (text.isascii() and text.isdigit() and len(text) <= 3):
        raise StepRefused(Message("step: “%(step)s” is not a step of this survey", step=text[:20]))
    number = int(text)
    if number > last_step(used):
        raise StepRefused(
            Message(
                "step: this survey has no step %(step)d (it has %(last)d)", step=number, last=last_step(used)
            )
        )
    return number


def next_page(form: Mapping[str, object], sections: tuple[FunctionSection, ...], go: str) -> Page:
    """The step to show after a step's Next, Back or Stay (Stay shows the same step again: a draft resumed).

    When an answer sent so far is not one the survey offers (a tampered hidden field, an over-long comment), the
    step holding the first such answer comes back with its errors, whatever the move. Raises StepRefused for a
    step or a move no page offers."""
    if go not in (NEXT, BACK, STAY):
        raise StepRefused(Message("go: “%(go)s” is not a way to move through the survey", go=go[:20]))
    values = answers_sent(form, sections)
    used = tuple(s for s in sections if values.get(s.use_field) == USED)
    number = posted_step(form, used)
    _, errors = read_internal_form(values, sections)
    if errors:
        return page_with_errors(values, sections, errors)
    if go == NEXT:
        number = min(number + 1, last_step(used))
    elif go == BACK:
        number = max(number - 1, CHECKLIST)
    return Page(number, used, values, {})


def step_of_first_error(errors: Mapping[str, str], used: tuple[FunctionSection, ...]) -> int:
    """The step that shows the first field with an error: a function's step, or the checklist for its use."""
    first = next(iter(errors))
    for number, section in enumerate(used, start=1):
        if first == section.comment_field or any(first == name for name, _ in section.fields):
            return number
    return CHECKLIST
