"""Questionnaire wording in other languages, in the database: reading it for the surveys, and the translation
sheet's download and upload.

An upload is checked whole and applied whole, in one transaction. While a round using the version is open its
wording is frozen (the answers already given were asked in it), so an upload is refused then; rounds not yet
open and closed ones take the new wording.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from survey.db.engine import Database
from survey.db.models import Instrument, InstrumentTranslation, Item, ItemTranslation, Round, RoundStatus
from survey.errors import Refused
from survey.imports.tabular import (
    ImportFile,
    ImportProblem,
    in_reading_order,
    read_table,
    write_csv,
    write_xlsx,
)
from survey.languages import LANGUAGE_NAMES, translated_languages
from survey.wording.sheet import (
    ITEM_FIELDS,
    Text,
    Translations,
    item_key,
    read_sheet,
    sheet_rows,
    source_texts,
)

SheetFormat = Literal["xlsx", "csv"]
MEDIA_TYPES: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}


class WordingError(Refused):
    """A sheet that cannot be made: no such questionnaire version, or no such format."""


@dataclass(frozen=True)
class Sheet:
    """A translation sheet to download."""

    name: str
    media_type: str
    data: bytes


@dataclass(frozen=True)
class WordingReport:
    """What an upload did: the languages applied and how many texts changed, or the problems (nothing applied)."""

    instrument_id: int
    file: str
    problems: tuple[ImportProblem, ...] = ()
    open_rounds: tuple[str, ...] = ()  # the open rounds using the version, which froze its wording
    languages: tuple[str, ...] = ()
    changed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        if self.open_rounds:
            return (
                f"Nothing was changed: the wording is frozen while {_listed(self.open_rounds)} using this version"
                " is open (the answers already given were asked in it). Upload it again once the round closes."
            )
        if self.problems:
            count = len(self.problems)
            return (
                f"Nothing was changed: the sheet has {count} problem{'s' if count > 1 else ''}, listed below."
            )
        names = ", ".join(LANGUAGE_NAMES[code] for code in self.languages)
        return f"Applied the {names} wording: {self.changed} text{'s' if self.changed != 1 else ''} changed."

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "instrument_id": self.instrument_id,
            "file": self.file,
            "summary": self.summary(),
            "problems": [p.as_dict() for p in self.problems],
            "open_rounds": list(self.open_rounds),
            "languages": list(self.languages),
            "changed": self.changed,
        }


def _listed(names: tuple[str, ...]) -> str:
    quoted = [f"round {name!r}" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


# --- Reading --------------------------------------------------------------------------------------------------


def item_translations(session: Session, instrument_id: int, language: str) -> dict[int, ItemTranslation]:
    """An instrument's items in `language`, by item id; empty for English or a language it has no wording in."""
    if language not in translated_languages():
        return {}
    rows = session.exec(
        select(ItemTranslation)
        .join(Item, col(Item.id) == col(ItemTranslation.item_id))
        .where(Item.instrument_id == instrument_id, ItemTranslation.language == language)
    ).all()
    return {row.item_id: row for row in rows}


def instrument_id_of(db: Database, kind: str, version: int) -> int:
    """The id of the questionnaire version `version` of `kind` (internal or external). Raises WordingError."""
    with db.session() as session:
        found = session.exec(
            select(Instrument.id).where(Instrument.kind == kind, Instrument.version == version)
        ).first()
        if found is None:
            versions = session.exec(
                select(Instrument.version).where(Instrument.kind == kind).order_by(col(Instrument.version))
            ).all()
            known = ", ".join(str(v) for v in versions) or "none"
            raise WordingError(f"there is no {kind} questionnaire version {version} (versions: {known})")
    return found


def _version(session: Session, instrument_id: int) -> tuple[Instrument, list[Item]]:
    instrument = session.get(Instrument, instrument_id)
    if instrument is None:
        raise WordingError(f"no questionnaire version with id {instrument_id}")
    items = session.exec(
        select(Item).where(Item.instrument_id == instrument_id).order_by(col(Item.position))
    ).all()
    return instrument, list(items)


def stored_translations(session: Session, instrument: Instrument, items: list[Item]) -> Translations:
    """Every translation of a version, by language and the sheet's keys."""
    found: Translations = {language: {} for language in translated_languages()}
    for heading in session.exec(
        select(InstrumentTranslation).where(InstrumentTranslation.instrument_id == instrument.id)
    ):
        found.setdefault(heading.language, {}).update(
            {"title": heading.title, "introduction": heading.introduction}
        )
    code_of = {item.id: item.code for item in items}
    for row in session.exec(select(ItemTranslation).where(col(ItemTranslation.item_id).in_(list(code_of)))):
        texts = found.setdefault(row.language, {})
        texts.update({item_key(code_of[row.item_id], f): getattr(row, f) for f in ITEM_FIELDS})
    return found


def _texts(instrument: Instrument, items: list[Item]) -> tuple[Text, ...]:
    return source_texts(instrument.title, instrument.introduction, items)


def download_sheet(db: Database, instrument_id: int, file_format: str) -> Sheet:
    """A version's translation sheet as XLSX or CSV (UTF-8 with a byte order mark, which Excel needs to read
    it as UTF-8), formula-safe. Raises WordingError for an unknown version or format."""
    if file_format not in MEDIA_TYPES:
        raise WordingError(f"unknown sheet format {file_format[:20]!r}: choose xlsx or csv")
    with db.session() as session:
        instrument, items = _version(session, instrument_id)
        rows = sheet_rows(_texts(instrument, items), stored_translations(session, instrument, items))
    name = f"questionnaire-{instrument.kind}-v{instrument.version}-wording.{file_format}"
    if file_format == "xlsx":
        return Sheet(name, MEDIA_TYPES["xlsx"], write_xlsx(rows, "wording"))
    out = io.StringIO()
    write_csv(out, rows)
    return Sheet(name, MEDIA_TYPES["csv"], ("\ufeff" + out.getvalue()).encode("utf-8"))


# --- Uploading ------------------------------------------------------------------------------------------------


def upload_sheet(db: Database, instrument_id: int, file: ImportFile) -> WordingReport:
    """Check an uploaded sheet against the version and, if nothing is wrong and no round using the version is
    open, replace the version's wording in each language the sheet has a column for, in one transaction. Raises
    WordingError for an unknown version; every problem of the file comes back in the report."""
    table, problems = read_table(file)
    with db.write_session() as session:
        instrument, items = _version(session, instrument_id)
        # Locked for the transaction (on PostgreSQL), so a round cannot open between this check and the commit.
        open_rounds = tuple(
            session.exec(
                select(Round.name)
                .where(
                    or_(
                        col(Round.internal_instrument_id) == instrument_id,
                        col(Round.external_instrument_id) == instrument_id,
                    ),
                    Round.status == RoundStatus.OPEN,
                )
                .order_by(Round.name)
                .with_for_update()
            ).all()
        )
        translations: Translations = {}
        if table is not None:
            translations, problems = read_sheet(table, _texts(instrument, items))
        if open_rounds:
            frozen = f"the wording is frozen while {_listed(open_rounds)} using this version is open"
            problems = [ImportProblem(file.name, 0, "", frozen), *problems]
        if problems:
            return WordingReport(
                instrument_id, file.name, in_reading_order(problems, [file.name]), open_rounds
            )
        before = stored_translations(session, instrument, items)
        changed = sum(
            before.get(language, {}).get(key) != text
            for language, texts in translations.items()
            for key, text in texts.items()
        )
        _replace(session, instrument, items, translations)
    return WordingReport(instrument_id, file.name, languages=tuple(translations), changed=changed)


def _replace(session: Session, instrument: Instrument, items: list[Item], translations: Translations) -> None:
    languages = list(translations)
    item_ids = [item.id for item in items]
    session.execute(
        delete(ItemTranslation).where(
            col(ItemTranslation.item_id).in_(item_ids), col(ItemTranslation.language).in_(languages)
        )
    )
    session.execute(
        delete(InstrumentTranslation).where(
            col(InstrumentTranslation.instrument_id) == instrument.id,
            col(InstrumentTranslation.language).in_(languages),
        )
    )
    for language, texts in translations.items():
        session.add(
            InstrumentTranslation(
                instrument_id=instrument.id,
                language=language,
                title=texts["title"],
                introduction=texts.get("introduction", ""),
            )
        )
        session.add_all(
            ItemTranslation(
                item_id=item.id,
                language=language,
                **{f: texts[item_key(item.code, f)] for f in ITEM_FIELDS},
            )
            for item in items
        )
