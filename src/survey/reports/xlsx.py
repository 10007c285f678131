"""Tables in, an Excel workbook out: one sheet per table, numbers as numbers in the format they are printed with,
hidden figures marked as hidden, text that a spreadsheet could run as a formula written as text.

Written with openpyxl's write-only mode, row by row, so a round of thousands of teams needs little memory.

Pure: no web, no database.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from typing import Final

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from survey.imports.tabular import spreadsheet_cell


class Hidden:
    """A figure the release gate hides: written as the word `HIDDEN_TEXT` on a grey fill, never as a number."""

    def __repr__(self) -> str:
        return "HIDDEN"


HIDDEN: Final = Hidden()
HIDDEN_TEXT = "hidden"
HIDDEN_FILL = PatternFill("solid", fgColor="D9D9D9")
HEADER_FILL = PatternFill("solid", fgColor="1F3864")
HEADER_FONT = Font(bold=True, color="FFFFFF")

Value = str | int | float | Hidden | None


@dataclass(frozen=True)
class Column:
    """A column of a table: its heading, its width in characters, and the number format of its numbers
    ("0.0": one decimal, as the pages print a mean; "0": whole numbers; "0%": a share as a percentage)."""

    title: str
    width: float = 12
    number_format: str = "General"


@dataclass(frozen=True)
class Sheet:
    """One table: a title (at most 31 characters, Excel's limit), its columns, and its rows, which may be a
    generator: they are written one at a time. `table` False: a page of notes, with no heading row, no filter
    and nothing frozen (its columns' titles are not written)."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Value]]
    table: bool = True


def build_workbook(sheets: Iterable[Sheet]) -> bytes:
    """The sheets as an .xlsx file: headings in the first row, frozen, with a filter over the table; column
    widths set; each number in its column's format; each hidden figure as the word "hidden" on a grey fill; every
    text through the rule of the platform's CSV files (`spreadsheet_cell`: a leading apostrophe before `=`, `+`,
    `-`, `@`, a tab or a carriage return), and stored as text, never as a formula."""
    book = Workbook(write_only=True)
    for sheet in sheets:
        _write_sheet(book.create_sheet(title=sheet.title), sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write_sheet(worksheet: WriteOnlyWorksheet, sheet: Sheet) -> None:
    for number, column in enumerate(sheet.columns, start=1):
        worksheet.column_dimensions[get_column_letter(number)].width = column.width
    if sheet.table:
        worksheet.freeze_panes = "A2"
    styles = _Styles(worksheet, sheet.columns)
    count = 0
    if sheet.table:
        worksheet.append([styles.heading(column.title) for column in sheet.columns])
        count = 1
    for row in sheet.rows:
        if len(row) != len(sheet.columns):
            raise ValueError(
                f"sheet {sheet.title!r}: a row of {len(row)} cells under {len(sheet.columns)} columns"
            )
        worksheet.append([styles.cell(value, at) for at, value in enumerate(row)])
        count += 1
    if sheet.table:
        worksheet.auto_filter.ref = f"A1:{get_column_letter(len(sheet.columns))}{count}"


class _Styles:
    """Each kind of cell of a sheet styled once, its style copied to every cell of that kind: styling each cell
    anew costs most of the time of a large workbook."""

    def __init__(self, worksheet: WriteOnlyWorksheet, columns: Sequence[Column]) -> None:
        self.worksheet = worksheet
        self.columns = columns
        hidden = self._text(HIDDEN_TEXT)
        hidden.fill = HIDDEN_FILL
        self.hidden_style = hidden._style
        wrapped = self._text("")
        wrapped.alignment = Alignment(wrap_text=True, vertical="top")
        self.wrapped_style = wrapped._style
        self.number_styles = []
        for column in columns:
            number = WriteOnlyCell(worksheet, value=0)
            number.number_format = column.number_format
            self.number_styles.append(number._style)

    def _text(self, text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.worksheet, value=spreadsheet_cell(text))
        cell.data_type = "s"  # text, whatever it starts with: openpyxl would take "=..." for a formula
        return cell

    def heading(self, title: str) -> WriteOnlyCell:
        cell = self._text(title)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        return cell

    def cell(self, value: Value, at: int) -> WriteOnlyCell | None:
        if value is None:
            return None
        if isinstance(value, Hidden):
            cell = self._text(HIDDEN_TEXT)
            cell._style = copy(self.hidden_style)
        elif isinstance(value, str):
            cell = self._text(value)
            if len(value) > self.columns[at].width:
                cell._style = copy(self.wrapped_style)
        else:
            cell = WriteOnlyCell(self.worksheet, value=value)
            cell._style = copy(self.number_styles[at])
        return cell
