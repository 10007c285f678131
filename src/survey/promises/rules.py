"""What makes a version of a function's service promises acceptable, checked before anything is stored.

A version holds 1 to 8 promises; each has a dimension (one of the five
SERVQUAL dimensions, or overall), an English text of 10 to 300 characters after trimming, and optionally the text
in other languages (the same length rule). No two promises of a version say the same thing. Every problem is
named by the promise's number (1, 2, ...) and the field.

Pure: no web or database imports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from survey.imports.tabular import ImportProblem, Table, check_columns
from survey.vocabulary import DIMENSIONS, MEASURE_LABELS, OVERALL

MAX_PROMISES = 8
MIN_TEXT, MAX_TEXT = 10, 300
PROMISE_DIMENSIONS: tuple[str, ...] = (*DIMENSIONS, OVERALL)


@dataclass(frozen=True)
class PromiseDraft:
    """One promise as written: its dimension, its English text and its text in other languages (by code)."""

    dimension: str
    text: str
    translations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PromiseProblem:
    """What is wrong with a promise (`number` from 1; 0 for the version as a whole) and in which field."""

    number: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"promise {self.number}, {self.field}" if self.number else "promises"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"promise": self.number, "field": self.field, "message": self.message}


def dimension_label(dimension: str) -> str:
    """The dimension's plain name, as the reports call it ("Doing what was promised")."""
    return MEASURE_LABELS.get(dimension, dimension)


def trimmed(text: str) -> str:
    """A text as stored: no NUL, white space at the ends cut and runs of it made one space."""
    return " ".join(text.replace("\x00", "").split())


def normalised(drafts: Sequence[PromiseDraft]) -> list[PromiseDraft]:
    """The drafts with their texts trimmed and empty translations left out (they fall back to English)."""
    return [
        PromiseDraft(
            draft.dimension.strip().lower(),
            trimmed(draft.text),
            {code: trimmed(text) for code, text in draft.translations.items() if trimmed(text)},
        )
        for draft in drafts
    ]


def promise_problems(drafts: Sequence[PromiseDraft], languages: Sequence[str]) -> list[PromiseProblem]:
    """Every problem of a version's drafts (already `normalised`), in the order of the promises; empty when it
    may be stored. `languages` are the codes a translation may be given in."""
    problems: list[PromiseProblem] = []
    if not drafts:
        problems.append(PromiseProblem(0, "promises", "none written; a version has 1 to 8 promises"))
    if len(drafts) > MAX_PROMISES:
        problems.append(
            PromiseProblem(0, "promises", f"{len(drafts)} promises; a version has at most {MAX_PROMISES}")
        )
    seen: dict[str, int] = {}
    for number, draft in enumerate(drafts, start=1):
        if draft.dimension not in PROMISE_DIMENSIONS:
            choices = ", ".join(PROMISE_DIMENSIONS)
            shown = draft.dimension[:30] or "nothing"
            problems.append(PromiseProblem(number, "dimension", f"{shown!r} is not one of {choices}"))
        problems.extend(_text_problems(number, "text", draft.text))
        for code, text in draft.translations.items():
            if code not in languages:
                problems.append(
                    PromiseProblem(number, f"text_{code[:10]}", "not a language promises are kept in")
                )
            else:
                problems.extend(_text_problems(number, f"text_{code}", text))
        key = draft.text.casefold()
        if key and key in seen:
            problems.append(PromiseProblem(number, "text", f"the same text as promise {seen[key]}"))
        seen.setdefault(key, number)
    return problems


def _text_problems(number: int, name: str, text: str) -> list[PromiseProblem]:
    if not text:
        return [PromiseProblem(number, name, "missing: write what the front line can expect")]
    if len(text) < MIN_TEXT:
        return [PromiseProblem(number, name, f"{len(text)} characters; a promise needs at least {MIN_TEXT}")]
    if len(text) > MAX_TEXT:
        return [PromiseProblem(number, name, f"{len(text)} characters; a promise has at most {MAX_TEXT}")]
    return []


def drafts_from_form(form: Mapping[str, object], languages: Sequence[str]) -> list[tuple[int, PromiseDraft]]:
    """The promises a posted form holds, with the number of the form's row each came from: row n has the fields
    `dimension_n`, `text_n` and `text_<language>_n`. A row left wholly blank is no promise."""
    found: list[tuple[int, PromiseDraft]] = []
    for row in range(1, MAX_PROMISES + 1):
        text = _field(form, f"text_{row}")
        translations = {code: _field(form, f"text_{code}_{row}") for code in languages}
        if not text.strip() and not any(t.strip() for t in translations.values()):
            continue
        found.append((row, PromiseDraft(_field(form, f"dimension_{row}"), text, translations)))
    return found


def _field(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return value[:2000] if isinstance(value, str) else ""


def numbered_by_row(problems: Sequence[PromiseProblem], rows: Sequence[int]) -> list[PromiseProblem]:
    """Problems of drafts read from a form, numbered by the form's row instead of the draft's place."""
    return [
        PromiseProblem(rows[p.number - 1], p.field, p.message) if 0 < p.number <= len(rows) else p
        for p in problems
    ]


def drafts_from_table(
    table: Table, languages: Sequence[str]
) -> tuple[list[PromiseDraft], list[ImportProblem]]:
    """A version's promises from a file (columns `dimension`, `text` and `text_<language>` for each other
    language, one row a promise), and every problem by the file's row and column; the drafts are only to be
    stored when there is none."""
    problems = check_columns(table, ("dimension", "text"), tuple(f"text_{code}" for code in languages))
    if problems:
        return [], problems
    drafts = normalised(
        [
            PromiseDraft(
                row["dimension"],
                row["text"],
                {code: row[f"text_{code}"] for code in languages if f"text_{code}" in table.columns},
            )
            for row in table.rows
        ]
    )
    for problem in promise_problems(drafts, languages):
        line = table.rows[problem.number - 1].line if 0 < problem.number <= len(table.rows) else 0
        problems.append(ImportProblem(table.file, line, problem.field if line else "", problem.message))
    return drafts, problems
