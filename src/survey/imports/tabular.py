"""Reading the CSV and XLSX files people export from spreadsheets, and saying what is wrong with them; and
writing CSV that a spreadsheet opens without running anything in it.

Reading is shared by the roster and the external-figures imports. A problem names the file, the row as a spreadsheet
shows it (the header is row 1) and the column, so that the person who made the file can find and fix it.
Pages, the API and the command line all show the same `ImportProblem` list; nothing here raises on a bad file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from typing import NamedTuple, TextIO

# Far more than any organisation's roster; a bigger file is a mistake (or an attack on memory), not a roster.
MAX_ROWS = 200_000
# The delimiters spreadsheets write: comma, semicolon (where the comma is the decimal separator), tab.
DELIMITERS = ",;\t"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # old binary Office files (.xls)
# An XLSX is a zip archive. Its members are checked before openpyxl reads them: a small archive can expand to
# gigabytes (a "zip bomb") and openpyxl holds the shared strings whole in memory. A real 200,000-row roster
# expands to a few tens of MB; a spreadsheet's XML compresses about 5 to 20 times.
MAX_XLSX_EXPANDED_BYTES = 100 * 1024 * 1024
MAX_XLSX_RATIO = 100  # uncompressed size over compressed size, for each member larger than 1 MB expanded
_RATIO_CHECKED_FROM = 1024 * 1024
# A deliberately plain check: one @, no spaces, a dotted domain. The only real test of an address is a mail.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+"
)
_HEADER_ALIASES = {"e_mail": "email", "mail": "email"}


class ImportFile(NamedTuple):
    """A file to import, as uploaded or read from disk: its name (shown in problems) and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True, order=True)
class ImportProblem:
    """Something wrong in a file to import, and where: the file, the row as a spreadsheet numbers it (the
    header is row 1; 0 means the file as a whole), the column's name ("" for the whole row or file), and what
    to fix."""

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line == 0 else f"{self.file}:{self.line}"
        return f"{where}: column {self.column}: {self.message}" if self.column else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Row:
    """A data row: its number as a spreadsheet shows it, and its cells by column name, stripped of spaces."""

    line: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass(frozen=True)
class Table:
    """A file's header (column names made canonical: lower-case, `_` for spaces) and its non-blank rows."""

    file: str
    header_line: int
    columns: tuple[str, ...]
    rows: tuple[Row, ...]


def in_reading_order(
    problems: list[ImportProblem], files: list[str] | tuple[str, ...]
) -> tuple[ImportProblem, ...]:
    """Problems as a person fixes them: file by file in the order given, top to bottom within a file
    (whole-file problems first), columns left to right as found."""
    order = {name: index for index, name in reversed(list(enumerate(files)))}
    return tuple(sorted(problems, key=lambda p: (order.get(p.file, -1), p.line)))


def canonical_column(text: str) -> str:
    """`Parent Code`, `parent-code` and ` PARENT_CODE ` all name the column `parent_code`."""
    name = re.sub(r"[\s_\-]+", "_", text.strip().lower()).strip("_")
    return _HEADER_ALIASES.get(name, name)


def is_email(text: str) -> bool:
    return _EMAIL.fullmatch(text) is not None and ".." not in text


def read_table(file: ImportFile) -> tuple[Table | None, list[ImportProblem]]:
    """The file's header and rows, or the problems that keep it from being read.

    XLSX is recognised by its content (a zip archive), anything else is read as CSV text: UTF-8 with or
    without a byte order mark (or UTF-16 with one, as Excel's "Unicode text" writes), separated by commas,
    semicolons or tabs, whichever the header line uses most. Blank rows are skipped but still counted, so row
    numbers match what a spreadsheet shows. Cells in a column without a header are a problem, not silently
    dropped.
    """
    raw_rows, problems = _read_rows(file)
    if problems:
        return None, problems
    numbered = [(number, [_text(cell) for cell in cells]) for number, cells in raw_rows]
    numbered = [(number, cells) for number, cells in numbered if any(cells)]
    if not numbered:
        return None, [ImportProblem(file.name, 0, "", "the file is empty: it has no header and no rows")]
    header_line, header = numbered[0]
    columns = [canonical_column(name) for name in header]
    problems += _header_problems(file.name, header_line, header, columns)
    rows = []
    for number, cells in numbered[1:]:
        values: dict[str, str] = {}
        for index, value in enumerate(cells):
            name = columns[index] if index < len(columns) else ""
            if name:
                values.setdefault(name, value)
            elif value:
                problems.append(
                    ImportProblem(
                        file.name,
                        number,
                        "",
                        f"cell {index + 1} ({value[:40]!r}) is in a column without a header:"
                        " remove it, or check for a stray separator",
                    )
                )
        rows.append(Row(number, values))
    table = Table(file.name, header_line, tuple(c for c in columns if c), tuple(rows))
    return table, problems


def check_columns(
    table: Table, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> list[ImportProblem]:
    """Problems with the header: a required column missing, a column not expected, no rows under it."""
    problems = []
    expected = ", ".join(required + optional)
    for column in required:
        if column not in table.columns:
            problems.append(
                ImportProblem(table.file, table.header_line, column, f"the header has no column {column}")
            )
    for column in table.columns:
        if column not in required and column not in optional:
            problems.append(
                ImportProblem(
                    table.file,
                    table.header_line,
                    column,
                    f"unknown column {column!r}: the columns are {expected}",
                )
            )
    if not table.rows:
        problems.append(ImportProblem(table.file, 0, "", "there are no rows under the header"))
    return problems


def _header_problems(file: str, line: int, header: list[str], columns: list[str]) -> list[ImportProblem]:
    problems = []
    seen = set()
    for index, (written, column) in enumerate(zip(header, columns, strict=True)):
        if written and not column:
            problems.append(
                ImportProblem(file, line, "", f"header cell {index + 1} ({written!r}) is not a column name")
            )
        elif column in seen:
            problems.append(
                ImportProblem(file, line, column, f"the column {column} appears twice in the header")
            )
        seen.add(column)
    return problems


def _read_rows(file: ImportFile) -> tuple[list[tuple[int, Sequence[object]]], list[ImportProblem]]:
    data = file.data
    if data.startswith(_ZIP_MAGIC):
        return _read_xlsx(file)
    if data.startswith(_OLE_MAGIC):
        return [], [_whole(file, "is an old-style Excel workbook (.xls): save it as .xlsx or as CSV UTF-8")]
    if file.name.lower().endswith(".xlsx"):
        return [], [
            _whole(file, "is named .xlsx but is not an Excel workbook: save it again as .xlsx or CSV")
        ]
    text, problem = _decode(file)
    if problem:
        return [], [problem]
    if "\x00" in text:
        return [], [_whole(file, "contains NUL characters: it is not a text (CSV) file")]
    return _read_csv(file, text)


def _decode(file: ImportFile) -> tuple[str, ImportProblem | None]:
    data = file.data
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return "", _whole(file, "starts like UTF-16 text but is not: save it as CSV UTF-8")
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start : error.start + 1].hex().upper()
        return "", ImportProblem(
            file.name,
            line,
            "",
            f"is not UTF-8 text (byte 0x{byte} on this line): save it as CSV UTF-8 or as .xlsx",
        )


def _read_csv(file: ImportFile, text: str) -> tuple[list[tuple[int, Sequence[object]]], list[ImportProblem]]:
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(DELIMITERS, key=first_line.count) if first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    rows: list[tuple[int, Sequence[object]]] = []
    number = 0
    try:
        for number, cells in enumerate(reader, 1):
            if number > MAX_ROWS:
                return [], [_whole(file, f"has more than {MAX_ROWS:,} rows: split it")]
            rows.append((number, cells))
    except csv.Error as error:
        return [], [ImportProblem(file.name, number + 1, "", f"cannot be read as CSV here: {error}")]
    return rows, []


def xlsx_expansion_problem(data: bytes) -> str | None:
    """What is wrong with an XLSX archive's size once unpacked, or None: the sum of its members' uncompressed
    sizes, and each large member's compression ratio, against the limits above. The sizes are those the
    archive's directory declares; Python's zipfile never reads a member past its declared size, so openpyxl
    cannot be handed more than was checked here."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        return f"is not a readable .xlsx workbook ({error.__class__.__name__}): save it again"
    expanded = sum(member.file_size for member in members)
    if expanded > MAX_XLSX_EXPANDED_BYTES:
        return (
            f"unpacks to {expanded / 1024 / 1024:,.0f} MB, more than the {MAX_XLSX_EXPANDED_BYTES // 1024 // 1024}"
            " MB a workbook may hold here: save it as CSV UTF-8, or split it"
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_CHECKED_FROM and ratio > MAX_XLSX_RATIO:
            return (
                f"has a part ({member.filename[:60]}) that unpacks {ratio:,.0f} times larger than it is packed,"
                f" more than the {MAX_XLSX_RATIO} times a real workbook does: save it again as .xlsx or CSV"
            )
    return None


def _read_xlsx(file: ImportFile) -> tuple[list[tuple[int, Sequence[object]]], list[ImportProblem]]:
    """The first sheet's rows, once the archive's unpacked size is known to be sensible. openpyxl reads
    untrusted archives in many ways that can fail, each with its own exception type, so any failure is reported
    as an unreadable workbook."""
    import openpyxl

    too_big = xlsx_expansion_problem(file.data)
    if too_big:
        return [], [_whole(file, too_big)]
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(file.data), read_only=True, data_only=True)
    except Exception as error:
        return [], [
            _whole(file, f"is not a readable .xlsx workbook ({error.__class__.__name__}): save it again")
        ]
    try:
        if not workbook.worksheets:
            return [], [_whole(file, "is a workbook without sheets")]
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers record wrong sheet sizes; read what is really there
        rows: list[tuple[int, Sequence[object]]] = []
        for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            if number > MAX_ROWS:
                return [], [_whole(file, f"has more than {MAX_ROWS:,} rows: split it")]
            rows.append((number, list(cells)))
        return rows, []
    except Exception as error:
        return [], [
            _whole(file, f"is not a readable .xlsx workbook ({error.__class__.__name__}): save it again")
        ]
    finally:
        workbook.close()


def _text(value: object) -> str:
    """A cell as text. Spreadsheets hand numbers back as floats (120.0 for 120) and dates as datetimes."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


def _whole(file: ImportFile, message: str) -> ImportProblem:
    return ImportProblem(file.name, 0, "", message)


# --- Writing CSV ------------------------------------------------------------------------------------------

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Google Sheets
# (=HYPERLINK(...) can send the cell's neighbours to another site, or run a command on old Excel).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """A value as it is safe to write in a spreadsheet cell: text that a spreadsheet would read as a formula
    gets a leading apostrophe (the OWASP rule), so it shows as the text it is. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def from_spreadsheet_cell(text: str) -> str:
    """A cell's text as it was before `spreadsheet_cell`: a file downloaded here and uploaded again reads back the
    text it was made from."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS):
        return text[1:]
    return text


def write_xlsx(rows: Iterable[Sequence[object]], sheet_title: str) -> bytes:
    """Rows (the header first) as an XLSX workbook of one sheet, every cell through `spreadsheet_cell`, so no text
    becomes a formula (openpyxl writes a string starting with "=" as one). Characters a workbook cannot hold
    (control characters) are left out."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title[:31])
    for row in rows:
        cells = (spreadsheet_cell(value) for value in row)
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in cells])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def write_csv(out: TextIO, rows: Iterable[Sequence[object]]) -> None:
    """Write rows (the header first) as CSV to a text stream, every cell through `spreadsheet_cell`. Every
    CSV the platform exports is written by this function."""
    writer = csv.writer(out)
    writer.writerows([spreadsheet_cell(value) for value in row] for row in rows)
