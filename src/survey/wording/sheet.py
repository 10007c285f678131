"""The translation sheet of a questionnaire version, as plain data: which texts it has, the rows HR downloads, and
reading an uploaded sheet back into translations or problems by row and column.

Pure: no web or database imports. One row per text: the instrument's title and introduction, and each item's
wording, low label and high label. The `key` column names the text (`title`, `REL1.wording`...), the `en` column
holds the English for reference, and one column per other language (`de`) holds its translation.

The English column must come back as it was downloaded: it shows the translation was made against this version's
English, so a sheet of another version (the same item codes, other English) cannot be uploaded by mistake.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from survey.imports.tabular import ImportProblem, Row, Table, from_spreadsheet_cell
from survey.languages import LANGUAGE_NAMES, SOURCE_LANGUAGE, translated_languages

KEY_COLUMN = "key"
# The fields of an item a sheet translates, and how long each may be (the columns' limits in db.models).
ITEM_FIELDS = {"wording": 500, "low_label": 80, "high_label": 80}
TITLE_LENGTH = 200
INTRODUCTION_LENGTH = 2000
# A placeholder is a name in braces: {function} or {team}. Anything in braces counts, so "{Funktion}" is caught.
PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SourceItem(Protocol):
    """What the sheet reads of an item (`db.models.Item` has it)."""

    @property
    def code(self) -> str: ...
    @property
    def wording(self) -> str: ...
    @property
    def low_label(self) -> str: ...
    @property
    def high_label(self) -> str: ...


@dataclass(frozen=True)
class Text:
    """One text of a questionnaire version: its key in the sheet, its English, and the most characters it takes."""

    key: str
    english: str
    max_length: int

    @property
    def placeholders(self) -> set[str]:
        return set(PLACEHOLDER.findall(self.english))


def item_key(code: str, field: str) -> str:
    return f"{code}.{field}"


def source_texts(title: str, introduction: str, items: Iterable[SourceItem]) -> tuple[Text, ...]:
    """Every text of a version in the sheet's order. A blank English introduction has nothing to translate, so
    no row."""
    texts = [Text("title", title, TITLE_LENGTH)]
    if introduction.strip():
        texts.append(Text("introduction", introduction, INTRODUCTION_LENGTH))
    for item in items:
        texts += [Text(item_key(item.code, f), getattr(item, f), limit) for f, limit in ITEM_FIELDS.items()]
    return tuple(texts)


# translations: language -> key -> text
Translations = dict[str, dict[str, str]]


def sheet_rows(texts: Iterable[Text], translations: Mapping[str, Mapping[str, str]]) -> list[list[str]]:
    """The sheet to download: the header, then a row per text with its English and each language's translation
    so far (blank where there is none)."""
    header = [KEY_COLUMN, SOURCE_LANGUAGE, *translated_languages()]
    return [header] + [
        [
            text.key,
            text.english,
            *(translations.get(language, {}).get(text.key, "") for language in translated_languages()),
        ]
        for text in texts
    ]


def read_sheet(table: Table, texts: tuple[Text, ...]) -> tuple[Translations, list[ImportProblem]]:
    """The translations in an uploaded sheet, for every language column it has, or the problems that keep it
    from being applied: every text needs a non-blank translation that keeps the English's placeholders exactly
    and fits its column; no key twice, none unknown, no column but key, en and known languages; the English as
    downloaded. Problems name the row as a spreadsheet numbers it (the header is row 1) and the column."""
    problems = _header_problems(table)
    languages = [c for c in table.columns if c in translated_languages()]
    if problems:
        return {}, problems
    by_key = {text.key: text for text in texts}
    found: Translations = {language: {} for language in languages}
    seen: dict[str, int] = {}
    for row in table.rows:
        text, messages = _row_key(row, by_key, seen)
        if text is not None:
            seen[text.key] = row.line
            if from_spreadsheet_cell(row[SOURCE_LANGUAGE]) != text.english:
                messages.append((SOURCE_LANGUAGE, _ENGLISH_CHANGED))
            for language in languages:
                translation = from_spreadsheet_cell(row[language])
                messages += [(language, m) for m in text_problems(text, translation, language)]
                found[language][text.key] = translation
        problems += [ImportProblem(table.file, row.line, column, m) for column, m in messages]
    problems += [
        ImportProblem(table.file, 0, KEY_COLUMN, f"the row {text.key} is missing: add it back")
        for text in texts
        if text.key not in seen
    ]
    return found, problems


_ENGLISH_CHANGED = (
    "the English is not this version's: leave the en column as downloaded (to change the English, make a new"
    " version of the questionnaire), or download this version's sheet"
)


def _row_key(
    row: Row, by_key: dict[str, Text], seen: dict[str, int]
) -> tuple[Text | None, list[tuple[str, str]]]:
    """The text a row translates, or None and what is wrong with its key."""
    key = row[KEY_COLUMN]
    if not key:
        return None, [(KEY_COLUMN, "the key is blank: copy it from the downloaded sheet")]
    text = by_key.get(key)
    if text is None:
        return None, [(KEY_COLUMN, f"unknown key {key[:60]!r}: this version has no such text")]
    if key in seen:
        return None, [(KEY_COLUMN, f"{key} appears twice (first on row {seen[key]}): keep one row per text")]
    return text, []


def text_problems(text: Text, translation: str, language: str) -> list[str]:
    """What is wrong with one translation of `text`, in words for the person who wrote it."""
    name = f"{LANGUAGE_NAMES[language]} ({language})"
    if not translation:
        return [f"the {name} text for {text.key} is blank: every text needs one"]
    problems = []
    if len(translation) > text.max_length:
        problems.append(
            f"{text.key} is {len(translation)} characters long in {name}; at most {text.max_length} fit"
        )
    if _CONTROL.search(translation):
        problems.append(f"{text.key} has a line break or control character: keep it on one line")
    kept = set(PLACEHOLDER.findall(translation))
    for lost in sorted(text.placeholders - kept):
        problems.append(f"{text.key} lost {lost}: keep it exactly as in the English, where the name goes")
    for extra in sorted(kept - text.placeholders):
        problems.append(
            f"{text.key} has {extra}, which the English has not: remove it"
            + (f" (the English has {', '.join(sorted(text.placeholders))})" if text.placeholders else "")
        )
    return problems


def _header_problems(table: Table) -> list[ImportProblem]:
    problems = []
    line = table.header_line
    for column in (KEY_COLUMN, SOURCE_LANGUAGE):
        if column not in table.columns:
            problems.append(ImportProblem(table.file, line, column, f"the header has no column {column}"))
    known = ", ".join(f"{code} ({LANGUAGE_NAMES[code]})" for code in translated_languages())
    for column in table.columns:
        if column not in (KEY_COLUMN, SOURCE_LANGUAGE, *translated_languages()):
            problems.append(
                ImportProblem(
                    table.file,
                    line,
                    column,
                    f"unknown language column {column!r}: the sheet takes {known}",
                )
            )
    if not problems and not any(c in translated_languages() for c in table.columns):
        problems.append(
            ImportProblem(table.file, line, "", f"the header has no language column: add one of {known}")
        )
    if not table.rows:
        problems.append(ImportProblem(table.file, 0, "", "there are no rows under the header"))
    return problems
