"""Roster import: the organisation's units and employees from CSV or XLSX files, checked whole, applied whole.

The rules (examples/README.md explains them for HR):

- A units file has the columns `code, name, kind` and optionally `parent_code, head_email`; an employees file
  has `email, name, unit_code` and optionally `language`. Files are told apart by their header. The files of one
  import are checked together (an employee's unit may be new in the units file beside it); at most one of each.
- Every problem in every file is reported, by row and column, and nothing is written unless there are none.
  Then everything is written in one transaction.
- A file is the whole list: units or employees it leaves out are deactivated, never deleted, so invitations
  and the answers counted for their teams stay. Listed again, they are reactivated. Importing the same files
  twice changes nothing.
- A parent must be a group unit (a region or division). Groups exist for roll-ups and a head sees everything
  below their unit; a team or a support function with units below it would mix its own results with others'.
- An employee may belong to any unit of the roster; only staff of front-line teams are invited to rate support
  functions. E-mail addresses are compared and stored lower-case.
- `language` is the language an employee's invitations, reminders and survey are written in: a language with a
  catalog (en, de); blank means the default (SURVEY_DEFAULT_LANGUAGE). Without the column, languages are left
  alone.
- `head_email` names a unit's head (several may be separated by spaces, commas or semicolons). A new address
  gets a head account without a password (set through "Forgot your password?" or a link HR sends from the
  Accounts page: an import sends no mail); an existing account keeps
  its role (an HR or executive account just gains the unit). With the column present the file is the whole
  list of heads too: head accounts not named for a unit lose it. Without the column, heads are left alone.
- Who sees which unit is decided by heads, by parents (a head sees every unit below theirs, past rounds
  included) and by which units are active. An import that would change any of these for existing units (the
  head_email column, a changed parent, a unit deactivated) lists each change in `access_changes`; a caller
  without the right to decide access (an API token without `accounts:write`) gets it refused whole, with that
  list, unless it only checks (dry run). New units under a parent are not such a change: they have no results.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from survey.db.engine import Database
from survey.db.models import Employee, ImportRun, Role, Unit, User, UserUnit, utc_now
from survey.imports.tabular import (
    ImportFile,
    ImportProblem,
    Table,
    check_columns,
    in_reading_order,
    is_email,
    read_table,
)
from survey.languages import supported_languages
from survey.rounds.lifecycle import new_public_slug
from survey.vocabulary import UnitKind

UNIT_COLUMNS = ("code", "name", "kind")
UNIT_OPTIONAL_COLUMNS = ("parent_code", "head_email")
EMPLOYEE_COLUMNS = ("email", "name", "unit_code")
EMPLOYEE_OPTIONAL_COLUMNS = ("language",)

_KINDS = {
    "group": UnitKind.GROUP,
    "region": UnitKind.GROUP,
    "division": UnitKind.GROUP,
    "support": UnitKind.SUPPORT,
    "support_function": UnitKind.SUPPORT,
    "function": UnitKind.SUPPORT,
    "front_line": UnitKind.FRONT_LINE,
    "frontline": UnitKind.FRONT_LINE,
    "front_line_team": UnitKind.FRONT_LINE,
    "team": UnitKind.FRONT_LINE,
}
_KIND_NAMES = {
    UnitKind.GROUP: "group",
    UnitKind.SUPPORT: "support function",
    UnitKind.FRONT_LINE: "front-line team",
}
# Column widths in models.py: a longer value would fail on PostgreSQL, or be stored whole on SQLite.
_MAX_LENGTH = {"code": 40, "name": 200, "email": 320, "parent_code": 40, "unit_code": 40, "head_email": 320}
_CHUNK = 500  # ids per `IN (...)`: well below every database's parameter limit


def unit_kind(text: str) -> UnitKind | None:
    """The unit kind a file's `kind` cell names, accepting friendly spellings (`Front-line`, `region`)."""
    return _KINDS.get(re.sub(r"[\s\-]+", "_", text.strip().lower()))


# --- What an import reports -------------------------------------------------------------------------------


@dataclass
class Changes:
    """What an import did (or, in a dry run, would do) to one kind of record."""

    created: int = 0
    updated: int = 0
    deactivated: int = 0
    reactivated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.deactivated + self.reactivated

    def __str__(self) -> str:
        return (
            f"{self.created} created, {self.updated} updated, {self.deactivated} deactivated, "
            f"{self.reactivated} reactivated, {self.unchanged} unchanged"
        )


@dataclass
class HeadChanges:
    accounts_created: int = 0
    links_added: int = 0
    links_removed: int = 0

    @property
    def total(self) -> int:
        return self.accounts_created + self.links_added + self.links_removed

    def __str__(self) -> str:
        return (
            f"{self.accounts_created} accounts created, {self.links_added} unit links added, "
            f"{self.links_removed} unit links removed"
        )


@dataclass(frozen=True)
class RosterReport:
    """The outcome of `import_roster`: the problems found (then nothing was written), or what changed.

    `units`, `employees` and `heads` are None when the import had no file for them."""

    files: tuple[str, ...]
    problems: tuple[ImportProblem, ...] = ()
    units: Changes | None = None
    employees: Changes | None = None
    heads: HeadChanges | None = None
    notes: tuple[str, ...] = ()
    dry_run: bool = False
    import_run_id: int | None = None
    # What in the files changes who sees which unit ("units.csv row 4: parent_code of T-12 changes from R1 to
    # R2"), and whether the import was refused for it (the caller may not decide access).
    access_changes: tuple[str, ...] = ()
    access_refused: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def applied(self) -> bool:
        return self.ok and not self.dry_run and not self.access_refused

    @property
    def total_changes(self) -> int:
        return sum(part.total for part in (self.units, self.employees, self.heads) if part is not None)

    def summary(self) -> str:
        """One line: the problem count, or the changes made (or that a dry run would make)."""
        if self.problems:
            return f"{_plural(len(self.problems), 'problem')}; nothing was imported."
        parts = [f"{_plural(self.total_changes, 'change')}"]
        for label, part in (("units", self.units), ("employees", self.employees), ("heads", self.heads)):
            if part is not None:
                parts.append(f"{label}: {part}")
        text = "; ".join(parts)
        if self.access_refused:
            return f"Not imported, nothing written (it changes who sees which unit): {text}"
        return f"Dry run, nothing written: {text}" if self.dry_run else text

    def as_dict(self) -> dict:
        """For the JSON API: plain lists, numbers and strings."""
        return {
            "ok": self.ok,
            "applied": self.applied,
            "dry_run": self.dry_run,
            "files": list(self.files),
            "summary": self.summary(),
            "problems": [problem.as_dict() for problem in self.problems],
            "units": asdict(self.units) if self.units else None,
            "employees": asdict(self.employees) if self.employees else None,
            "heads": asdict(self.heads) if self.heads else None,
            "notes": list(self.notes),
            "access_changes": list(self.access_changes),
            "import_run_id": self.import_run_id,
        }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# --- Rows as read from the files --------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitRow:
    line: int
    code: str
    name: str
    kind: UnitKind | None  # None when the file's value was not a kind (reported already)
    parent_code: str
    heads: tuple[str, ...]


@dataclass(frozen=True)
class EmployeeRow:
    line: int
    email: str  # lower-case
    name: str
    unit_code: str
    language: str | None = None  # None: the default language


@dataclass
class RosterFiles:
    """The rows of an import's files, each checked on its own, before anything is compared with the
    database."""

    units_file: str | None = None
    employees_file: str | None = None
    units: list[UnitRow] = field(default_factory=list)
    employees: list[EmployeeRow] = field(default_factory=list)
    heads_listed: bool = False  # the units file has a head_email column
    languages_listed: bool = False  # the employees file has a language column
    problems: list[ImportProblem] = field(default_factory=list)
    unreadable: bool = False  # a file could not be read or told apart: checks across files would mislead


def read_roster_files(files: Sequence[ImportFile]) -> RosterFiles:
    """Read and check each file on its own: header, values, duplicates, parents. Pure: no database."""
    roster = RosterFiles()
    if not files:
        roster.problems.append(ImportProblem("", 0, "", "no file given"))
        roster.unreadable = True
        return roster
    for file in files:
        table, problems = read_table(file)
        roster.problems += problems
        if table is None:
            roster.unreadable = True
            continue
        kind = _file_kind(table)
        if kind is None:
            roster.problems.append(
                ImportProblem(
                    file.name,
                    table.header_line,
                    "",
                    "cannot tell what this file holds: a units file has the header "
                    "code,name,kind,parent_code,head_email and an employees file email,name,unit_code",
                )
            )
            roster.unreadable = True
            continue
        earlier = roster.units_file if kind == "units" else roster.employees_file
        if earlier is not None:
            roster.problems.append(
                ImportProblem(file.name, 0, "", f"a second {kind} file (the first is {earlier}): give one")
            )
            roster.unreadable = True
            continue
        if kind == "units":
            roster.units_file = file.name
            header_problems = check_columns(table, UNIT_COLUMNS, UNIT_OPTIONAL_COLUMNS)
            roster.heads_listed = "head_email" in table.columns
            roster.units, row_problems = _unit_rows(table)
            row_problems += _parent_problems(file.name, roster.units)
        else:
            roster.employees_file = file.name
            header_problems = check_columns(table, EMPLOYEE_COLUMNS, EMPLOYEE_OPTIONAL_COLUMNS)
            roster.languages_listed = "language" in table.columns
            roster.employees, row_problems = _employee_rows(table)
        roster.problems += header_problems
        required = UNIT_COLUMNS if kind == "units" else EMPLOYEE_COLUMNS
        if set(required) - set(table.columns):
            # A column is missing: every row would repeat it, and checks across files would mislead.
            roster.unreadable = True
        else:
            roster.problems += row_problems
    return roster


def _file_kind(table: Table) -> str | None:
    columns = set(table.columns)
    if columns & {"email", "unit_code"}:
        return "employees"
    if columns & {"code", "kind", "parent_code", "head_email"}:
        return "units"
    return None


def _text_problem(column: str, value: str, required: bool = True) -> str | None:
    """What is wrong with a text value, if anything: empty, too long, or holding a line break."""
    if not value:
        return f"{column} is empty" if required else None
    if len(value) > _MAX_LENGTH[column]:
        return f"{column} has {len(value)} characters; at most {_MAX_LENGTH[column]} fit"
    if any(ord(character) < 32 for character in value):
        return f"{column} holds a line break or another control character"
    return None


def _unit_rows(table: Table) -> tuple[list[UnitRow], list[ImportProblem]]:
    """Every row, with the problems of its own values. Rows with problems are kept too, so that the checks
    across rows (parents) still report theirs; nothing is applied while any problem stands."""
    rows, problems = [], []
    first_line: dict[str, int] = {}
    for row in table.rows:
        found = []
        for column in ("code", "name", "parent_code"):
            message = _text_problem(column, row[column], required=column != "parent_code")
            if message:
                found.append((column, message))
        kind = unit_kind(row["kind"])
        if not row["kind"]:
            found.append(("kind", "kind is empty: use group, support or front_line"))
        elif kind is None:
            found.append(("kind", f"unknown kind {row['kind'][:40]!r}: use group, support or front_line"))
        heads = tuple(dict.fromkeys(e.lower() for e in re.split(r"[\s,;]+", row["head_email"]) if e))
        for email in heads:
            if len(email) > 320 or not is_email(email):
                found.append(("head_email", f"{email[:60]!r} is not an e-mail address"))
        code = row["code"]
        if code in first_line:
            found.append(("code", f"code {code!r} appears again (first on line {first_line[code]})"))
        elif code:
            first_line[code] = row.line
        problems += [ImportProblem(table.file, row.line, column, message) for column, message in found]
        rows.append(UnitRow(row.line, code, row["name"], kind, row["parent_code"], heads))
    return rows, problems


def _parent_problems(file: str, units: list[UnitRow]) -> list[ImportProblem]:
    """Parents must be group units of the same file (units it leaves out are deactivated), without loops."""
    by_code: dict[str, UnitRow] = {}
    for unit in units:
        if unit.code:
            by_code.setdefault(unit.code, unit)  # a code given twice is reported already
    problems = []
    for unit in units:
        if not unit.parent_code or _text_problem("parent_code", unit.parent_code):
            continue
        parent = by_code.get(unit.parent_code)
        if unit.parent_code == unit.code:
            message = "a unit cannot be its own parent"
        elif parent is None:
            hint = _did_you_mean(unit.parent_code, by_code)
            message = f"parent {unit.parent_code!r} is not a unit code in this file{hint}"
        elif parent.kind not in (UnitKind.GROUP, None):
            message = (
                f"parent {parent.code!r} is a {_KIND_NAMES[parent.kind]}; a parent must be a group"
                " (a region or division)"
            )
        else:
            continue
        problems.append(ImportProblem(file, unit.line, "parent_code", message))
    for cycle in _parent_cycles(by_code):
        path = " -> ".join([*cycle, cycle[0]])
        for code in cycle:
            problems.append(ImportProblem(file, by_code[code].line, "parent_code", f"parents loop: {path}"))
    return problems


def _parent_cycles(by_code: dict[str, UnitRow]) -> list[list[str]]:
    """Each loop in the parent links once (every unit has at most one parent, so loops cannot share units)."""
    done: set[str] = set()
    cycles = []
    for start in by_code:
        path: list[str] = []
        on_path: set[str] = set()
        code = start
        while code in by_code and code not in done and code not in on_path:
            path.append(code)
            on_path.add(code)
            code = by_code[code].parent_code
        if (
            code in on_path and code != by_code[code].parent_code
        ):  # a unit as its own parent is reported already
            cycles.append(path[path.index(code) :])
        done |= on_path
    return cycles


def _employee_rows(table: Table) -> tuple[list[EmployeeRow], list[ImportProblem]]:
    """Every row, with the problems of its own values; rows with problems are kept so their unit codes are
    checked too."""
    rows, problems = [], []
    first_line: dict[str, int] = {}
    for row in table.rows:
        found = []
        email = row["email"].lower()
        message = _text_problem("email", email)
        if message is None and not is_email(email):
            message = f"{row['email'][:60]!r} is not an e-mail address"
        if message:
            found.append(("email", message))
        elif email in first_line:
            found.append(("email", f"{email} appears again (first on line {first_line[email]})"))
        else:
            first_line[email] = row.line
        for column in ("name", "unit_code"):
            message = _text_problem(column, row[column])
            if message:
                found.append((column, message))
        language = row["language"].lower() or None
        if language is not None and language not in supported_languages():
            found.append(("language", _language_problem(row["language"])))
        problems += [ImportProblem(table.file, row.line, column, message) for column, message in found]
        rows.append(EmployeeRow(row.line, email, row["name"], row["unit_code"], language))
    return rows, problems


def _language_problem(value: str) -> str:
    languages = ", ".join(supported_languages())
    return f"{value[:20]!r} is not a language the surveys are written in ({languages}; blank for the default)"


def _did_you_mean(code: str, known: Iterable[str]) -> str:
    """Codes are compared exactly; a code differing only in case is most likely the one meant."""
    match = next((k for k in known if k.lower() == code.lower()), None)
    return f" (did you mean {match!r}?)" if match else ""


# --- The database side ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    public_slug: str | None
    active: bool


@dataclass(frozen=True)
class _Employee:
    id: int
    email: str
    name: str
    unit_id: int
    active: bool
    language: str | None


def import_roster(
    db: Database,
    files: Sequence[ImportFile],
    *,
    actor: str,
    dry_run: bool = False,
    may_change_access: bool = True,
) -> RosterReport:
    """Check the files together against the database and, if nothing is wrong, apply them in one transaction
    and log an ImportRun. With `dry_run`, report what would change and write nothing. Without
    `may_change_access`, an import that changes who sees which unit is not applied: the report lists why
    (`access_changes`, `access_refused`); a dry run still counts what would change.

    Never raises for anything in the files: every problem comes back in `RosterReport.problems`, by file, row
    and column. Database failures other than a concurrent change (reported as a problem) do raise.
    """
    names = tuple(file.name for file in files)
    roster = read_roster_files(files)
    if roster.unreadable:
        return RosterReport(names, in_reading_order(roster.problems, names), dry_run=dry_run)
    try:
        with db.write() as connection:
            units = {u.code: u for u in _load_units(connection)}
            problems = roster.problems + _problems_with_database(connection, roster, units)
            if problems:
                return RosterReport(names, in_reading_order(problems, names), dry_run=dry_run)
            changes = tuple(access_changes(roster, units))
            refused = bool(changes) and not may_change_access
            report = _apply(connection, roster, units, names, actor, dry_run or refused)
            return replace(
                report, dry_run=dry_run, access_changes=changes, access_refused=refused and not dry_run
            )
    except IntegrityError:  # another import or page added the same code or e-mail meanwhile
        return RosterReport(
            names,
            (
                ImportProblem(
                    "",
                    0,
                    "",
                    "the roster changed while it was being imported; nothing was imported: try again",
                ),
            ),
            dry_run=dry_run,
        )


def access_changes(roster: RosterFiles, units: dict[str, _Unit]) -> list[str]:
    """What in the files changes which head sees which existing unit: a head_email column, a parent changed
    (reactivating a unit under another parent included), a unit deactivated. One line each, in file order."""
    found = []
    if roster.heads_listed:
        found.append(f"{roster.units_file}: the head_email column decides which head sees which unit")
    if not roster.units_file:
        return found
    code_of = {u.id: u.code for u in units.values()}
    for row in roster.units:
        unit = units.get(row.code)
        if unit is None:
            continue
        before = code_of.get(unit.parent_id, "") if unit.parent_id is not None else ""
        if before != row.parent_code:
            found.append(
                f"{roster.units_file} row {row.line}: parent_code of {row.code} changes from"
                f" {before or 'none'} to {row.parent_code or 'none'}"
            )
    listed = {row.code for row in roster.units}
    for unit in sorted(units.values(), key=lambda u: u.code):
        if unit.active and unit.code not in listed:
            found.append(f"{roster.units_file}: unit {unit.code} is not in the file, which deactivates it")
    return found


def _load_units(connection: Connection) -> list[_Unit]:
    columns = (Unit.id, Unit.code, Unit.name, Unit.kind, Unit.parent_id, Unit.public_slug, Unit.active)
    return [_Unit(*row) for row in connection.execute(select(*columns))]


def _problems_with_database(
    connection: Connection, roster: RosterFiles, units: dict[str, _Unit]
) -> list[ImportProblem]:
    """Checks that need the database: employees' units, and units dropped while staff still belong to them."""
    problems = []
    if roster.employees_file:
        file_units = {u.code for u in roster.units} if roster.units_file else None
        for employee in roster.employees:
            if _text_problem("unit_code", employee.unit_code):
                continue  # reported already
            message = _unit_code_problem(employee.unit_code, file_units, units, roster.units_file)
            if message:
                problems.append(ImportProblem(roster.employees_file, employee.line, "unit_code", message))
    if roster.units_file and not roster.employees_file:
        listed = {u.code for u in roster.units}
        staff: dict[int, int] = dict(
            connection.execute(
                select(Employee.unit_id, func.count()).where(Employee.active).group_by(Employee.unit_id)
            ).all()
        )
        for unit in units.values():
            if unit.active and unit.code not in listed and staff.get(unit.id):
                problems.append(
                    ImportProblem(
                        roster.units_file,
                        0,
                        "",
                        f"unit {unit.code} ({unit.name}) is not in the file, which deactivates it, but it "
                        f"still has {_plural(staff[unit.id], 'active employee')}: import with it an "
                        "employees file that moves them or leaves them out",
                    )
                )
    return problems


def _unit_code_problem(
    code: str, file_units: set[str] | None, units: dict[str, _Unit], units_file: str | None
) -> str | None:
    if file_units is not None:
        if code in file_units:
            return None
        return f"unit {code!r} is not in {units_file}{_did_you_mean(code, file_units)}"
    unit = units.get(code)
    if unit is None:
        return f"no unit has the code {code!r}{_did_you_mean(code, units)}"
    if not unit.active:
        return f"unit {code!r} ({unit.name}) is deactivated: import a units file that lists it"
    return None


def _apply(
    connection: Connection,
    roster: RosterFiles,
    units: dict[str, _Unit],
    names: tuple[str, ...],
    actor: str,
    dry_run: bool,
) -> RosterReport:
    unit_changes = employee_changes = head_changes = None
    notes: list[str] = []
    if roster.units_file:
        unit_changes = _apply_units(connection, roster.units, units, dry_run)
        units = {u.code: u for u in _load_units(connection)} if not dry_run else units
    if roster.employees_file:
        employee_changes = _apply_employees(
            connection, roster.employees, units, dry_run, languages_listed=roster.languages_listed
        )
    if roster.heads_listed:
        head_changes = _apply_heads(connection, roster, units, notes, dry_run)
    report = RosterReport(
        names,
        units=unit_changes,
        employees=employee_changes,
        heads=head_changes,
        notes=tuple(notes),
        dry_run=dry_run,
    )
    if dry_run:
        return report
    details = report.as_dict()
    run_id = connection.execute(
        insert(ImportRun)
        .values(
            kind="roster",
            source=", ".join(names)[:200],
            actor=actor[:320],
            at=utc_now(),
            summary=report.summary()[:1000],
            details={key: details[key] for key in ("files", "units", "employees", "heads", "notes")},
        )
        .returning(ImportRun.id)
    ).scalar_one()
    return replace(report, import_run_id=run_id)


def _apply_units(
    connection: Connection, rows: list[UnitRow], units: dict[str, _Unit], dry_run: bool
) -> Changes:
    """Upsert units by code; deactivate those not listed. Parents are compared and set by code, so new units
    can be parents (their ids exist only once inserted)."""
    changes = Changes()
    code_of = {u.id: u.code for u in units.values()}
    new, changed = [], []
    for row in rows:
        unit = units.get(row.code)
        if unit is None:
            changes.created += 1
            new.append(row)
        elif not unit.active:
            changes.reactivated += 1
            changed.append(row)
        elif _unit_differs(unit, row, code_of):
            changes.updated += 1
            changed.append(row)
        else:
            changes.unchanged += 1
    listed = {row.code for row in rows}
    leaving = [u.id for u in units.values() if u.active and u.code not in listed]
    changes.deactivated = len(leaving)
    if dry_run:
        return changes
    table = Unit.__table__
    if new:
        connection.execute(
            insert(table),
            [
                {
                    "code": row.code,
                    "name": row.name,
                    "kind": row.kind.value,
                    "parent_id": None,
                    "public_slug": new_public_slug() if row.kind == UnitKind.FRONT_LINE else None,
                    "active": True,
                }
                for row in new
            ],
        )
    id_of: dict[str, int] = dict(connection.execute(select(Unit.code, Unit.id)).all())
    updates = changed + [row for row in new if row.parent_code]
    if updates:
        connection.execute(
            update(table)
            .where(table.c.id == bindparam("unit_id"))
            .values(
                name=bindparam("new_name"),
                kind=bindparam("new_kind"),
                parent_id=bindparam("new_parent_id"),
                active=True,
            ),
            [
                {
                    "unit_id": id_of[row.code],
                    "new_name": row.name,
                    "new_kind": row.kind.value,
                    "new_parent_id": id_of.get(row.parent_code),
                }
                for row in updates
            ],
        )
    for row in changed:
        if _needs_slug(row, units[row.code]):
            connection.execute(
                update(table).where(table.c.id == id_of[row.code]).values(public_slug=new_public_slug())
            )
    _deactivate(connection, table, leaving)
    return changes


def _unit_differs(unit: _Unit, row: UnitRow, code_of: dict[int, str]) -> bool:
    before = (unit.name, unit.kind, code_of.get(unit.parent_id, ""))
    return before != (row.name, row.kind, row.parent_code) or _needs_slug(row, unit)


def _needs_slug(row: UnitRow, unit: _Unit) -> bool:
    """A front-line team needs its public customer link; one it has is kept, whatever else changes."""
    return row.kind == UnitKind.FRONT_LINE and unit.public_slug is None


def _apply_employees(
    connection: Connection,
    rows: list[EmployeeRow],
    units: dict[str, _Unit],
    dry_run: bool,
    languages_listed: bool = False,
) -> Changes:
    """Upsert employees by lower-case e-mail; deactivate those not listed. One query per kind of change, so
    ten thousand employees take seconds, not minutes. Languages change only when the file lists them."""
    changes = Changes()
    code_of = {u.id: u.code for u in units.values()}
    existing = {
        e.email.lower(): e
        for e in (
            _Employee(*row)
            for row in connection.execute(
                select(
                    Employee.id,
                    Employee.email,
                    Employee.name,
                    Employee.unit_id,
                    Employee.active,
                    Employee.language,
                )
            )
        )
    }
    new, changed = [], []
    for row in rows:
        employee = existing.get(row.email)
        if employee is None:
            changes.created += 1
            new.append(row)
        elif not employee.active:
            changes.reactivated += 1
            changed.append((employee.id, row))
        elif _employee_differs(employee, row, code_of, languages_listed):
            changes.updated += 1
            changed.append((employee.id, row))
        else:
            changes.unchanged += 1
    listed = {row.email for row in rows}
    leaving = [e.id for email, e in existing.items() if e.active and email not in listed]
    changes.deactivated = len(leaving)
    if dry_run:
        return changes
    table = Employee.__table__
    if new:
        connection.execute(
            insert(table),
            [
                {
                    "email": row.email,
                    "name": row.name,
                    "unit_id": units[row.unit_code].id,
                    "active": True,
                    "language": row.language,
                }
                for row in new
            ],
        )
    if changed:
        _update_employees(connection, changed, units, languages_listed)
    _deactivate(connection, table, leaving)
    return changes


def _update_employees(
    connection: Connection,
    changed: list[tuple[int, EmployeeRow]],
    units: dict[str, _Unit],
    languages_listed: bool,
) -> None:
    """Write the rows of employees who changed (and reactivate them); their languages only when listed."""
    table = Employee.__table__
    languages: dict[str, Any] = {"language": bindparam("new_language")} if languages_listed else {}
    connection.execute(
        update(table)
        .where(table.c.id == bindparam("employee_id"))
        .values(
            email=bindparam("new_email"),
            name=bindparam("new_name"),
            unit_id=bindparam("new_unit_id"),
            active=True,
            **languages,
        ),
        [
            {
                "employee_id": employee_id,
                "new_email": row.email,
                "new_name": row.name,
                "new_unit_id": units[row.unit_code].id,
                "new_language": row.language,
            }
            for employee_id, row in changed
        ],
    )


def _employee_differs(
    employee: _Employee, row: EmployeeRow, code_of: dict[int, str], languages_listed: bool
) -> bool:
    before = (employee.email, employee.name, code_of.get(employee.unit_id))
    language_changes = languages_listed and employee.language != row.language
    return language_changes or before != (row.email, row.name, row.unit_code)


def _deactivate(connection: Connection, table, ids: list[int]) -> None:
    for start in range(0, len(ids), _CHUNK):
        connection.execute(
            update(table).where(table.c.id.in_(ids[start : start + _CHUNK])).values(active=False)
        )


def _apply_heads(
    connection: Connection, roster: RosterFiles, units: dict[str, _Unit], notes: list[str], dry_run: bool
) -> HeadChanges:
    """Make the head accounts and their units match the file's head_email column. Links are compared by
    (e-mail, unit code), so a dry run can count links to units not created yet."""
    changes = HeadChanges()
    users = {
        email.lower(): (user_id, role, active)
        for user_id, email, role, active in connection.execute(
            select(User.id, User.email, User.role, User.active)
        )
    }
    email_of = {user_id: email for email, (user_id, _, _) in users.items()}
    code_of = {u.id: u.code for u in units.values()}
    listed_units = {row.code for row in roster.units}
    linked = {
        (email_of[user_id], code_of[unit_id])
        for user_id, unit_id, role in connection.execute(
            select(UserUnit.user_id, UserUnit.unit_id, User.role).join(User, User.id == UserUnit.user_id)
        )
        if role == Role.HEAD and code_of.get(unit_id) in listed_units
    }
    wanted = {(email, row.code) for row in roster.units for email in row.heads}
    new_accounts = sorted({email for email, _ in wanted} - set(users))
    changes.accounts_created = len(new_accounts)
    # Links of HR and executive accounts are not in `linked`, so they are never removed; adding one twice is
    # avoided by asking the database which exist.
    existing_links = {
        (email_of[user_id], code_of.get(unit_id))
        for user_id, unit_id in connection.execute(select(UserUnit.user_id, UserUnit.unit_id))
    }
    to_add = sorted(wanted - existing_links)
    to_remove = sorted(linked - wanted)
    changes.links_added, changes.links_removed = len(to_add), len(to_remove)
    for email in sorted({email for email, _ in wanted}):
        if email in users and not users[email][2]:
            notes.append(
                f"{email} is named as a head but their account is disabled: enable it to give them access"
            )
    if dry_run:
        return changes
    if new_accounts:
        names = _names_for(connection, roster, new_accounts)
        connection.execute(
            insert(User.__table__),
            [
                {
                    "email": email,
                    "name": names[email],
                    "role": Role.HEAD.value,
                    "password_hash": None,
                    "active": True,
                    "created_at": utc_now(),
                }
                for email in new_accounts
            ],
        )
    user_id_of = {
        email.lower(): user_id for user_id, email in connection.execute(select(User.id, User.email))
    }
    if to_add:
        connection.execute(
            insert(UserUnit.__table__),
            [{"user_id": user_id_of[email], "unit_id": units[code].id} for email, code in to_add],
        )
    for email, code in to_remove:
        connection.execute(
            delete(UserUnit).where(UserUnit.user_id == user_id_of[email], UserUnit.unit_id == units[code].id)
        )
    return changes


def _names_for(connection: Connection, roster: RosterFiles, emails: list[str]) -> dict[str, str]:
    """A new head account's name: from the employees file, else from the employee records, else the part of
    the address before the @ (HR can correct it on the accounts page)."""
    names = {row.email: row.name for row in roster.employees}
    wanted = sorted(set(emails) - set(names))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = select(Employee.email, Employee.name).where(func.lower(Employee.email).in_(chunk))
        for email, name in connection.execute(query):
            names.setdefault(email.lower(), name)
    return {email: names.get(email) or email.split("@", 1)[0] for email in emails}
