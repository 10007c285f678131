"""HR imports the organisation from spreadsheets: units and employees, checked whole, applied whole, again and
again as people join, move and leave."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import func, select

from conftest import start_round
from survey.db.models import Employee, ImportRun, Invitation, Role, Unit, User, UserUnit
from survey.imports.roster import import_roster, read_roster_files
from survey.imports.tabular import ImportFile, read_table
from survey.vocabulary import UnitKind

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

UNITS = [
    "code,name,kind,parent_code,head_email",
    "R1,North region,group,,",
    "SF1,IT Service Desk,support,,it.head@example.com",
    "SF2,Logistics,support,,",
    "FL1,Store 1,front_line,R1,store1.head@example.com",
    "FL2,Store 2,Front-line,R1,",
]
EMPLOYEES = [
    "email,name,unit_code",
    "ann@example.com,Ann Archer,FL1",
    "bob@example.com,Bob Baker,FL1",
    "cy@example.com,Cy Cole,FL2",
    "store1.head@example.com,Stella Head,FL1",
]


def csv_file(name: str, lines: list[str]) -> ImportFile:
    return ImportFile(name, ("\n".join(lines) + "\n").encode())


def units_file(lines=UNITS) -> ImportFile:
    return csv_file("units.csv", lines)


def employees_file(lines=EMPLOYEES) -> ImportFile:
    return csv_file("employees.csv", lines)


def imported(db, *files: ImportFile, **options):
    report = import_roster(db, list(files), actor="hr@example.com", **options)
    assert report.ok, [str(p) for p in report.problems]
    return report


def snapshot(db) -> dict:
    """Everything a roster import may touch, in comparable form."""
    with db.session() as session:
        code_of = {u.id: u.code for u in session.exec(select(Unit))}
        return {
            "units": sorted(
                (u.code, u.name, u.kind, code_of.get(u.parent_id), u.public_slug, u.active)
                for u in session.exec(select(Unit))
            ),
            "employees": sorted(
                (e.id, e.email, e.name, code_of[e.unit_id], e.active) for e in session.exec(select(Employee))
            ),
            "users": sorted((u.email, u.name, u.role, u.active) for u in session.exec(select(User))),
            "links": sorted((link.user_id, code_of[link.unit_id]) for link in session.exec(select(UserUnit))),
            "runs": session.exec(select(func.count()).select_from(ImportRun)).one(),
        }


def where(report) -> list[tuple[str, int, str]]:
    return [(p.file, p.line, p.column) for p in report.problems]


# --- all or nothing -----------------------------------------------------------------------------------------


def test_a_roster_file_with_three_errors_reports_all_three_and_changes_nothing(db):
    imported(db, units_file(), employees_file())
    before = snapshot(db)
    bad = employees_file(
        [
            "email,name,unit_code",
            "ann@example.com,Ann Archer,FL1",
            "bob@example,Bob Baker,FL1",  # no dotted domain
            "cy@example.com,,FL2",  # no name
            "dee@example.com,Dee Dunn,FL9",  # no such unit
            "new@example.com,New Person,FL2",
        ]
    )
    report = import_roster(db, [bad], actor="hr@example.com")
    assert not report.ok and not report.applied
    assert where(report) == [
        ("employees.csv", 3, "email"),
        ("employees.csv", 4, "name"),
        ("employees.csv", 5, "unit_code"),
    ]
    assert report.summary() == "3 problems; nothing was imported."
    assert snapshot(db) == before


def test_problems_in_both_files_are_all_reported_together(db):
    units = units_file([*UNITS, "FL3,Store 3,shop,R1,", "FL1,Store one again,front_line,R1,"])
    employees = employees_file([*EMPLOYEES, "eve@example.com,Eve,FL7", "ANN@example.com,Ann again,FL1"])
    report = import_roster(db, [units, employees], actor="hr@example.com")
    assert where(report) == [
        ("units.csv", 7, "kind"),
        ("units.csv", 8, "code"),
        ("employees.csv", 6, "unit_code"),
        ("employees.csv", 7, "email"),
    ]
    assert "'FL7' is not in units.csv" in report.problems[2].message
    assert "appears again (first on line 2)" in report.problems[3].message
    assert snapshot(db)["units"] == []


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        (",Nameless,group,,", "code", "code is empty"),
        ("X1,,group,,", "name", "name is empty"),
        ("X1,Somewhere,,,", "kind", "kind is empty"),
        ("X1,Somewhere,shop,,", "kind", "unknown kind 'shop': use group, support or front_line"),
        ("X1," + "N" * 201 + ",group,,", "name", "name has 201 characters; at most 200 fit"),
        ("X" * 41 + ",Somewhere,group,,", "code", "code has 41 characters; at most 40 fit"),
        ('X1,"Two\nlines",group,,', "name", "line break"),
        ("X1,Somewhere,group,,boss(at)example.com", "head_email", "'boss(at)example.com' is not an e-mail"),
        ("SF1,Again,support,,", "code", "code 'SF1' appears again (first on line 3)"),
        ("X1,Somewhere,group,R9,", "parent_code", "parent 'R9' is not a unit code in this file"),
        ("X1,Somewhere,group,r1,", "parent_code", "(did you mean 'R1'?)"),
        (
            "X1,Somewhere,front_line,FL1,",
            "parent_code",
            "parent 'FL1' is a front-line team; a parent must be a group",
        ),
        ("X1,Somewhere,group,SF1,", "parent_code", "parent 'SF1' is a support function"),
        ("X1,Somewhere,group,X1,", "parent_code", "a unit cannot be its own parent"),
    ],
)
def test_each_problem_in_a_units_file_is_named_by_line_and_column(db, line, column, message):
    report = import_roster(db, [units_file([*UNITS, line])], actor="hr")
    assert [(p.line, p.column) for p in report.problems] == [(7, column)], report.problems
    assert message in report.problems[0].message
    assert snapshot(db)["units"] == []


def test_parents_that_loop_are_reported_on_every_unit_of_the_loop(db):
    lines = ["code,name,kind,parent_code", "A,A,group,C", "B,B,group,A", "C,C,group,B", "D,D,group,A"]
    report = import_roster(db, [units_file(lines)], actor="hr")
    assert [(p.line, p.column) for p in report.problems] == [
        (2, "parent_code"),
        (3, "parent_code"),
        (4, "parent_code"),
    ]
    assert report.problems[0].message == "parents loop: A -> C -> B -> A"


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("not-an-address,Someone,FL1", "email", "'not-an-address' is not an e-mail address"),
        (",Someone,FL1", "email", "email is empty"),
        ("BOB@Example.com,Bob twice,FL1", "email", "bob@example.com appears again (first on line 3)"),
        ("x" * 310 + "@example.com,Someone,FL1", "email", "at most 320 fit"),
        ("zed@example.com,,FL1", "name", "name is empty"),
        ("zed@example.com,Zed,", "unit_code", "unit_code is empty"),
        ("zed@example.com,Zed,FL9", "unit_code", "no unit has the code 'FL9'"),
        ("zed@example.com,Zed,fl1", "unit_code", "(did you mean 'FL1'?)"),
        ("zed@example.com,Zed,OLD", "unit_code", "unit 'OLD' (Closed store) is deactivated"),
    ],
)
def test_each_problem_in_an_employees_file_is_named_by_line_and_column(db, line, column, message):
    imported(db, units_file([*UNITS, "OLD,Closed store,front_line,R1,"]))
    imported(db, units_file())  # deactivates OLD
    before = snapshot(db)
    report = import_roster(db, [employees_file([*EMPLOYEES, line])], actor="hr")
    assert [(p.line, p.column) for p in report.problems] == [(6, column)], report.problems
    assert message in report.problems[0].message
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"", "units.csv", "units.csv: the file is empty"),
        (b"\n\n", "units.csv", "units.csv: the file is empty"),
        (b"code,name,kind\n", "units.csv", "units.csv: there are no rows under the header"),
        (
            b"email,name,unit_code\nann@example.com,Ann,FL1\nb\xe9a@example.com,Bea,FL1\n",
            "e.csv",
            "e.csv:3: is not UTF-8",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 50, "units.xls", "old-style Excel workbook (.xls)"),
        (b"PK\x03\x04 not really a zip", "units.xlsx", "is not a readable .xlsx workbook"),
        (b"code,name,kind\n", "units.xlsx", "is named .xlsx but is not an Excel workbook"),
        (b"email,name,unit_code\nann@example.com,Ann\x00,FL1\n", "e.csv", "contains NUL characters"),
        (b"team,size\nA,3\n", "what.csv", "what.csv:1: cannot tell what this file holds"),
        (
            b"code,name,kind,colour\nX,X,group,red\n",
            "u.csv",
            "u.csv:1: column colour: unknown column 'colour'",
        ),
        (b"code,name\nX,X\n", "u.csv", "u.csv:1: column kind: the header has no column kind"),
        (
            b"email,name,unit_code\na@example.com,A,FL1,extra\n",
            "e.csv",
            "e.csv:2: cell 4 ('extra') is in a column",
        ),
        (
            b"code,name,kind,code\nX,X,group,Y\n",
            "u.csv",
            "u.csv:1: column code: the column code appears twice",
        ),
    ],
)
def test_an_unreadable_or_misshapen_file_is_a_problem_with_a_clear_message(db, data, name, expected):
    report = import_roster(db, [ImportFile(name, data)], actor="hr")
    assert any(str(p).startswith(expected) or expected in str(p) for p in report.problems), report.problems
    assert snapshot(db)["units"] == [] and snapshot(db)["runs"] == 0


def test_two_files_of_the_same_kind_are_refused(db):
    report = import_roster(db, [units_file(), csv_file("more-units.csv", UNITS)], actor="hr")
    assert [str(p) for p in report.problems] == [
        "more-units.csv: a second units file (the first is units.csv): give one"
    ]


def test_dropping_a_unit_whose_staff_are_still_active_needs_the_employees_file_too(db):
    imported(db, units_file(), employees_file())
    without_fl2 = units_file(UNITS[:-1])
    report = import_roster(db, [without_fl2], actor="hr")
    assert [str(p) for p in report.problems] == [
        "units.csv: unit FL2 (Store 2) is not in the file, which deactivates it, but it still has 1 active"
        " employee: import with it an employees file that moves them or leaves them out"
    ]
    moved = employees_file([line.replace("FL2", "FL1") for line in EMPLOYEES])
    report = imported(db, without_fl2, moved)
    assert report.units.deactivated == 1 and report.employees.updated == 1


# --- applying -----------------------------------------------------------------------------------------------


def test_a_first_import_builds_the_organisation(db):
    report = imported(db, units_file(), employees_file())
    assert (report.units.created, report.employees.created) == (5, 4)
    with db.session() as session:
        units = {u.code: u for u in session.exec(select(Unit))}
        assert units["FL2"].kind == UnitKind.FRONT_LINE  # "Front-line" is a friendly spelling
        assert units["FL1"].parent_id == units["R1"].id and units["SF1"].parent_id is None
        assert units["FL1"].public_slug and units["FL2"].public_slug and units["SF1"].public_slug is None
        run = session.exec(select(ImportRun)).one()
    assert (run.kind, run.source, run.actor) == ("roster", "units.csv, employees.csv", "hr@example.com")
    assert run.details["employees"]["created"] == 4 and run.summary == report.summary()
    assert report.import_run_id == run.id


def test_importing_the_same_files_again_changes_nothing(db):
    imported(db, units_file(), employees_file())
    before = snapshot(db)
    report = imported(db, units_file(), employees_file())
    assert report.total_changes == 0
    assert report.summary().startswith(
        "0 changes; units: 0 created, 0 updated, 0 deactivated, 0 reactivated, 5 unchanged"
    )
    after = snapshot(db)
    assert after["runs"] == before["runs"] + 1  # the import itself is logged
    assert {**after, "runs": 0} == {**before, "runs": 0}


def test_a_dry_run_reports_the_changes_and_writes_nothing(db):
    report = import_roster(db, [units_file(), employees_file()], actor="hr", dry_run=True)
    assert report.ok and not report.applied and report.import_run_id is None
    assert (report.units.created, report.employees.created, report.heads.accounts_created) == (5, 4, 2)
    assert report.summary().startswith("Dry run, nothing written: 13 changes")
    assert snapshot(db) == {"units": [], "employees": [], "users": [], "links": [], "runs": 0}


def test_reimport_moves_renames_deactivates_leavers_and_keeps_their_history(db):
    imported(db, units_file(), employees_file())
    start_round(db)  # invites every active front-line employee
    with db.session() as session:
        ids = {e.email: e.id for e in session.exec(select(Employee))}
    report = imported(
        db,
        employees_file(
            [
                "email,name,unit_code",
                "Ann@Example.com,Ann Archer-Smith,FL2",  # renamed and moved; same person
                "cy@example.com,Cy Cole,FL2",
                "store1.head@example.com,Stella Head,FL1",
                "dee@example.com,Dee Dunn,FL1",  # joined
            ]  # Bob left
        ),
    )
    assert (report.employees.created, report.employees.updated, report.employees.deactivated) == (1, 1, 1)
    assert report.employees.unchanged == 2 and report.units is None
    with db.session() as session:
        people = {e.email: e for e in session.exec(select(Employee))}
        unit_code = {u.id: u.code for u in session.exec(select(Unit))}
        bob_invitations = session.exec(
            select(Invitation).where(Invitation.employee_id == ids["bob@example.com"])
        ).all()
    assert people["ann@example.com"].id == ids["ann@example.com"]
    assert (people["ann@example.com"].name, unit_code[people["ann@example.com"].unit_id]) == (
        "Ann Archer-Smith",
        "FL2",
    )
    assert people["bob@example.com"].active is False  # never deleted...
    assert len(bob_invitations) == 1  # ...and his invitation (who was invited) stays

    returned = imported(db, employees_file([*EMPLOYEES, "dee@example.com,Dee Dunn,FL1"]))
    assert (returned.employees.reactivated, returned.employees.updated) == (1, 1)
    with db.session() as session:
        bob = session.get(Employee, ids["bob@example.com"])
    assert bob.active is True


def test_units_left_out_are_deactivated_and_come_back_with_their_public_link(db):
    imported(db, units_file(), employees_file())
    slug = {u[0]: u[4] for u in snapshot(db)["units"]}["FL2"]
    staff_moved = employees_file([line.replace("FL2", "FL1") for line in EMPLOYEES])
    report = imported(db, units_file([*UNITS[:-1], "SF3,Payroll,support,,"]), staff_moved)
    assert (report.units.created, report.units.deactivated, report.units.unchanged) == (1, 1, 4)
    units = {u[0]: u for u in snapshot(db)["units"]}
    assert units["FL2"][5] is False and units["FL2"][4] == slug
    back = imported(db, units_file([*UNITS[:-1], "FL2,Store 2 (refitted),front_line,R1,"]))
    assert (back.units.reactivated, back.units.deactivated) == (1, 1)
    units = {u[0]: u for u in snapshot(db)["units"]}
    assert units["FL2"][1:] == ("Store 2 (refitted)", "front_line", "R1", slug, True)


def test_a_unit_may_change_kind_and_parent_in_place(db):
    imported(db, units_file())
    changed = [
        *UNITS[:3],
        "R2,South region,region,,",
        "SF2,Logistics,front_line,R2,",  # now a front-line team: it gets a public link
        "FL1,Store 1,front_line,R2,store1.head@example.com",
        "FL2,Store 2,Front-line,R1,",
    ]
    report = imported(db, units_file(changed))
    assert (report.units.created, report.units.updated, report.units.unchanged) == (1, 2, 3)
    units = {u[0]: u for u in snapshot(db)["units"]}
    assert units["SF2"][2:4] == ("front_line", "R2") and units["SF2"][4]
    assert units["FL1"][3] == "R2" and units["R2"][2] == "group"


# --- heads --------------------------------------------------------------------------------------------------


def test_heads_get_an_account_without_password_linked_to_their_units(db):
    report = imported(db, units_file(), employees_file())
    assert (report.heads.accounts_created, report.heads.links_added) == (2, 2)
    with db.session() as session:
        users = {u.email: u for u in session.exec(select(User))}
        links = {(link.user_id, link.unit_id) for link in session.exec(select(UserUnit))}
        unit_id = {u.code: u.id for u in session.exec(select(Unit))}
    assert users["store1.head@example.com"].name == "Stella Head"  # from the employees file
    assert users["it.head@example.com"].name == "it.head"  # not an employee: the address's first part
    assert all(u.role == Role.HEAD and u.password_hash is None and u.active for u in users.values())
    assert links == {
        (users["it.head@example.com"].id, unit_id["SF1"]),
        (users["store1.head@example.com"].id, unit_id["FL1"]),
    }


def test_a_new_head_replaces_the_old_one_and_hr_accounts_keep_their_role(db):
    with db.session() as session:
        session.add(User(email="hr.boss@example.com", name="Harriet", role=Role.HR))
        session.add(User(email="gone@example.com", name="Gone", role=Role.HEAD, active=False))
        session.commit()
    imported(db, units_file(), employees_file())
    new_heads = [
        *UNITS[:3],
        "SF2,Logistics,support,,HR.Boss@example.com; gone@example.com",
        "FL1,Store 1,front_line,R1,ann@example.com",
        "FL2,Store 2,Front-line,R1,",
    ]
    report = imported(db, units_file(new_heads))
    assert (report.heads.accounts_created, report.heads.links_added, report.heads.links_removed) == (1, 3, 1)
    assert report.notes == (
        "gone@example.com is named as a head but their account is disabled: enable it to give them access",
    )
    with db.session() as session:
        users = {u.email: u for u in session.exec(select(User))}
        code_of = {u.id: u.code for u in session.exec(select(Unit))}
        scope = {
            email: sorted(
                code_of[link.unit_id]
                for link in session.exec(select(UserUnit).where(UserUnit.user_id == u.id))
            )
            for email, u in users.items()
        }
    assert users["hr.boss@example.com"].role == Role.HR and users["ann@example.com"].name == "Ann Archer"
    assert users["gone@example.com"].active is False  # disabled accounts stay disabled
    assert scope == {
        "hr.boss@example.com": ["SF2"],
        "gone@example.com": ["SF2"],
        "ann@example.com": ["FL1"],
        "store1.head@example.com": [],  # no longer head of FL1; the account stays
        "it.head@example.com": ["SF1"],
    }
    assert imported(db, units_file(new_heads)).heads.total == 0


def test_without_a_head_email_column_heads_are_left_alone(db):
    imported(db, units_file())
    before = snapshot(db)
    report = imported(db, units_file([line.rsplit(",", 1)[0] for line in UNITS]))
    assert report.heads is None and report.total_changes == 0
    assert snapshot(db)["links"] == before["links"]


# --- file formats -------------------------------------------------------------------------------------------


def test_semicolons_a_byte_order_mark_and_loose_headers_are_understood(db):
    data = (
        "\ufeffE-Mail ; NAME;Unit Code\r\n"
        "ann@example.com;Ann Archer;FL1\r\n"
        "\r\n"
        ";;\r\n"
        'bob@example.com;"Baker; Bob";FL1\r\n'
    )
    imported(db, units_file())
    report = import_roster(db, [ImportFile("staff.csv", data.encode())], actor="hr")
    assert report.ok and report.employees.created == 2
    assert ("bob@example.com", "Baker; Bob") in {(e[1], e[2]) for e in snapshot(db)["employees"]}
    bad = data.replace("bob@example.com", "bob")
    problems = import_roster(db, [ImportFile("staff.csv", bad.encode())], actor="hr").problems
    assert [str(p) for p in problems] == ["staff.csv:5: column email: 'bob' is not an e-mail address"]


def xlsx(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_workbook_imports_like_csv_and_its_problems_name_spreadsheet_rows(db):
    units = xlsx(
        [
            ["Code", "Name", "Kind", "Parent code"],
            ["R1", "North", "group", None],
            [101, "Store 101", "front_line", "R1"],
        ]
    )
    employees = xlsx(
        [
            ["email", "name", "unit_code"],
            ["ann@example.com", "Ann", 101],
            [],
            ["bob@example.com", "Bob", 101.0],
        ]
    )
    report = imported(db, ImportFile("units.xlsx", units), ImportFile("staff.xlsx", employees))
    assert (report.units.created, report.employees.created) == (2, 2)
    assert {u[0] for u in snapshot(db)["units"]} == {"R1", "101"}
    bad = xlsx([["email", "name", "unit_code"], ["ann@example.com", "Ann", 101], [], ["bob", "Bob", 102]])
    problems = import_roster(db, [ImportFile("staff.xlsx", bad)], actor="hr").problems
    assert [str(p) for p in problems] == [
        "staff.xlsx:4: column email: 'bob' is not an e-mail address",
        "staff.xlsx:4: column unit_code: no unit has the code '102'",
    ]


def test_the_example_files_import_cleanly(db):
    files = [ImportFile(name, (EXAMPLES / name).read_bytes()) for name in ("units.csv", "employees.csv")]
    report = imported(db, *files)
    kinds = [u[2] for u in snapshot(db)["units"]]
    assert kinds.count("support") >= 5 and kinds.count("front_line") >= 8 and report.employees.created >= 50
    assert report.heads.accounts_created >= 10
    assert imported(db, *files).total_changes == 0


def test_ten_thousand_employees_import_in_seconds(db):
    import time

    units = ["code,name,kind,parent_code", "R,Region,group,"] + [
        f"T{i},Team {i},front_line,R" for i in range(100)
    ]
    staff = ["email,name,unit_code"] + [f"p{i}@example.com,Person {i},T{i % 100}" for i in range(10_000)]
    started = time.perf_counter()
    report = imported(db, units_file(units), employees_file(staff))
    moved = ["email,name,unit_code"] + [
        f"p{i}@example.com,Person {i},T{(i + 1) % 100}" for i in range(500, 10_500)
    ]
    again = imported(db, employees_file(moved))
    elapsed = time.perf_counter() - started
    assert report.employees.created == 10_000
    assert (again.employees.created, again.employees.updated, again.employees.deactivated) == (
        500,
        9_500,
        500,
    )
    assert elapsed < 20, f"{elapsed:.1f} s"  # about 2 s on a laptop; generous for a busy CI machine


# --- never an exception -------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["f.csv", "f.xlsx", "f"]))
def test_any_bytes_read_as_a_table_or_as_problems(data, name):
    table, problems = read_table(ImportFile(name, data))
    assert table is not None or problems
    read_roster_files([ImportFile(name, data)])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from([b"", b"email,name,unit_code\n", b"code,name,kind,parent_code,head_email\n"]),
    st.binary(max_size=200) | st.text(max_size=200).map(str.encode),
)
def test_any_bytes_give_problems_or_a_clean_import_never_an_exception(db, header, body):
    report = import_roster(db, [ImportFile("f.csv", header + body)], actor="hr")
    assert report.ok or all(str(problem) for problem in report.problems)


# --- the command line ---------------------------------------------------------------------------------------


def test_the_command_names_each_bad_line_and_exits_2(run, db, tmp_path):
    (tmp_path / "units.csv").write_text("\n".join(UNITS) + "\n")
    (tmp_path / "staff.csv").write_text(
        "email,name,unit_code\nann@example,Ann,FL1\nbob@example.com,,FL1\ncy@example.com,Cy,NOPE\n"
    )
    result = run("roster", "import", str(tmp_path / "units.csv"), str(tmp_path / "staff.csv"))
    assert result.exit_code == 2, result.output
    staff = tmp_path / "staff.csv"
    assert result.output.splitlines() == [
        f"{staff}:2: column email: 'ann@example' is not an e-mail address",
        f"{staff}:3: column name: name is empty",
        f"{staff}:4: column unit_code: unit 'NOPE' is not in {tmp_path / 'units.csv'}",
        "Error: 3 problems; nothing was imported.",
    ]
    assert snapshot(db)["units"] == []


def test_the_command_imports_and_says_what_changed(run, db):
    units, staff = str(EXAMPLES / "units.csv"), str(EXAMPLES / "employees.csv")
    dry = run("roster", "import", "--dry-run", units, staff)
    assert dry.exit_code == 0 and dry.output.startswith("Dry run, nothing written:")
    assert snapshot(db)["units"] == []
    result = run("roster", "import", units, staff)
    assert result.exit_code == 0, result.output
    assert "units: 19 created" in result.output and "employees: 64 created" in result.output
    again = run("roster", "import", units, staff)
    assert again.output.startswith("0 changes;")


@pytest.mark.parametrize("path", ["missing.csv", "."])
def test_the_command_refuses_a_path_it_cannot_read(run, path):
    result = run("roster", "import", path)
    assert result.exit_code == 2
    assert f"Error: cannot read {path}:" in result.output and "Traceback" not in result.output


def test_a_database_failure_during_an_import_is_a_message_not_a_traceback(run, monkeypatch, tmp_path):
    from sqlalchemy.exc import OperationalError

    def locked(*args, **kwargs):
        raise OperationalError("UPDATE employee ...", {}, Exception("database is locked"))

    monkeypatch.setattr("survey.imports.roster.import_roster", locked)
    (tmp_path / "units.csv").write_text("\n".join(UNITS) + "\n")
    result = run("roster", "import", str(tmp_path / "units.csv"))
    assert result.exit_code == 2
    assert "failed during the import (OperationalError); nothing was imported" in result.output


def test_excel_unicode_text_utf16_with_tabs_is_understood(db):
    imported(db, units_file())
    data = "email\tname\tunit_code\r\nzoë@example.com\tZoë Þórsdóttir\tFL2\r\n".encode("utf-16")
    report = import_roster(db, [ImportFile("staff.txt", data)], actor="hr")
    assert [str(p) for p in report.problems] == [
        "staff.txt:2: column email: 'zoë@example.com' is not an e-mail address"
    ]
    data = "email\tname\tunit_code\r\nzoe@example.com\tZoë Þórsdóttir\tFL2\r\n".encode("utf-16")
    assert imported(db, ImportFile("staff.txt", data)).employees.created == 1
    assert ("zoe@example.com", "Zoë Þórsdóttir") in {(e[1], e[2]) for e in snapshot(db)["employees"]}
