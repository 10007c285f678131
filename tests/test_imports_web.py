"""HR imports the roster and customer figures on the Imports page, and integrations do it on the API: every
problem listed by file, row and column, nothing written while there is one, a check that writes nothing, an
upload cap, and a history of who imported what."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.exc import OperationalError
from sqlmodel import func, select

from helpers import csrf_from, log_in
from survey.accounts.api_tokens import create_api_token
from survey.db.models import Employee, ImportRun, Unit, User
from survey.imports import api as imports_api
from survey.imports import pages as imports_web
from survey.imports import uploads
from survey.rounds.lifecycle import create_round

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ROSTER = ("units.csv", "employees.csv")
THREE_ERRORS = (
    b"email,name,unit_code\n"
    b"ann@example.com,Ann Archer,FL1\n"
    b"not-an-address,Bob Baker,FL1\n"
    b"cy@example.com,,FL2\n"
    b"dee@example.com,Dee Dune,FL-NOWHERE\n"
)


def example(name: str) -> tuple[str, tuple[str, bytes, str]]:
    return ("files", (name, (EXAMPLES / name).read_bytes(), "text/csv"))


def upload(client, path: str, files: list, action: str | None = "import", **kwargs):
    """Send the Imports page's form as a browser does: its CSRF token, the files and the button pressed."""
    data = {"_csrf_token": csrf_from(client.get("/admin/imports").text)}
    if action:
        data["action"] = action
    return client.post(path, data=data, files=files, **kwargs)


def as_hr(client, people):
    assert log_in(client, people.hr).status_code == 303
    return client


def roster_state(db) -> tuple:
    """Every unit and employee as stored, and the imports logged."""
    with db.session() as session:
        return (
            sorted((u.code, u.name, u.kind, u.parent_id, u.active) for u in session.exec(select(Unit))),
            sorted((e.email, e.name, e.unit_id, e.active) for e in session.exec(select(Employee))),
            session.exec(select(func.count()).select_from(ImportRun)).one(),
        )


def problem_rows(html: str) -> list[tuple[str, ...]]:
    """The rows of the problems table: (file, row, column, message)."""
    table = html.split('class="error-summary"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(.*?)</td><td[^>]*>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", table)
    return [tuple(unescape(cell) for cell in row) for row in rows]


# --- The page -----------------------------------------------------------------------------------------------


def test_hr_imports_the_example_roster_and_sees_what_changed(client, db, people):
    as_hr(client, people)
    page = client.get("/admin/imports")
    assert page.status_code == 200
    assert page.text.count('enctype="multipart/form-data"') == 2
    assert "Check only" in page.text and "No imports yet." in page.text

    done = upload(client, "/admin/imports/roster", [example(name) for name in ROSTER])
    assert done.status_code == 200, done.text
    assert "Roster imported" in done.text and "Files: units.csv, employees.csv." in done.text
    assert re.search(r'<th scope="row">Units</th><td class="num">19</td>', done.text)  # 19 units created
    assert re.search(r'<th scope="row">Employees</th><td class="num">64</td>', done.text)
    with db.session() as session:
        active = session.exec(select(func.count()).select_from(Employee).where(Employee.active)).one()
        assert active == 64
        assert session.exec(select(Unit).where(Unit.code == "FL-LEEDS")).one().active

    again = upload(client, "/admin/imports/roster", [example(name) for name in ROSTER])
    assert again.status_code == 200 and "Roster imported" in again.text
    assert re.search(
        r'<th scope="row">Employees</th>(<td class="num">0</td>){4}<td class="num">64</td>', again.text
    )


def test_a_file_with_three_errors_shows_all_three_and_changes_nothing(client, db, people):
    as_hr(client, people)
    before = roster_state(db)
    refused = upload(client, "/admin/imports/roster", [("files", ("staff.csv", THREE_ERRORS, "text/csv"))])
    assert refused.status_code == 400
    assert "Roster: 3 problems, nothing was imported" in refused.text
    assert problem_rows(refused.text) == [
        ("staff.csv", "3", "email", "'not-an-address' is not an e-mail address"),
        ("staff.csv", "4", "name", "name is empty"),
        ("staff.csv", "5", "unit_code", "no unit has the code 'FL-NOWHERE'"),
    ]
    assert roster_state(db) == before


def test_check_only_says_what_would_change_and_writes_nothing(client, db, people):
    as_hr(client, people)
    before = roster_state(db)
    checked = upload(client, "/admin/imports/roster", [example(name) for name in ROSTER], action="check")
    assert checked.status_code == 200
    assert "Roster checked: no problems" in checked.text and "Nothing was written" in checked.text
    assert re.search(r'<th scope="row">Units</th><td class="num">19</td>', checked.text)
    # A form sent without either button is only checked too: only Import writes.
    unpressed = upload(client, "/admin/imports/roster", [example(name) for name in ROSTER], action=None)
    assert unpressed.status_code == 200 and "Roster checked: no problems" in unpressed.text
    assert roster_state(db) == before
    assert "No imports yet." in client.get("/admin/imports").text


def test_no_file_chosen_is_a_clear_400(client, db, people):
    as_hr(client, people)
    token = csrf_from(client.get("/admin/imports").text)
    # What a browser sends for an empty file field: a part with an empty file name.
    empty = client.post(
        "/admin/imports/external",
        data={"_csrf_token": token, "action": "import"},
        files=[("files", ("", b"", "application/octet-stream"))],
    )
    assert empty.status_code == 400
    assert "No file was chosen: choose a file of customer figures" in empty.text
    assert upload(client, "/admin/imports/roster", []).status_code == 400


def test_a_head_may_not_see_the_page_or_upload(client, db, people):
    before = roster_state(db)
    log_in(client, people.head_fl1)
    assert client.get("/admin/imports").status_code == 403
    assert client.get("/admin/imports/examples/units.csv").status_code == 403
    token = csrf_from(client.get("/my").text)
    refused = client.post(
        "/admin/imports/roster",
        data={"_csrf_token": token, "action": "import"},
        files=[example(name) for name in ROSTER],
    )
    assert refused.status_code == 403
    assert roster_state(db) == before


def test_an_upload_without_the_csrf_token_is_refused(client, db, people):
    as_hr(client, people)
    before = roster_state(db)
    refused = client.post(
        "/admin/imports/roster",
        data={"action": "import"},
        files=[example(name) for name in ROSTER],
        headers={"accept": "text/html"},
    )
    assert refused.status_code == 403 and "reload the page" in refused.text
    assert roster_state(db) == before


def test_an_upload_over_the_cap_is_refused_with_a_clear_413(client, db, people):
    as_hr(client, people)
    before = roster_state(db)
    huge = b"email,name,unit_code\n" + b"x" * uploads.MAX_UPLOAD_BYTES
    refused = upload(client, "/admin/imports/roster", [("files", ("huge.csv", huge, "text/csv"))])
    assert refused.status_code == 413
    assert (
        f"larger than {uploads.MAX_UPLOAD_MB} MB" in refused.text and "Nothing was imported" in refused.text
    )
    assert roster_state(db) == before
    assert (
        upload(client, "/admin/imports/external", [("files", ("huge.csv", huge, "text/csv"))]).status_code
        == 413
    )
    # Over Litestar's default of 10 MB but under the cap: read, and refused for what it holds.
    rows = b"email,name,unit_code\n" + b"someone@example.com,Some One,FL1\n" * (15 * 1024 * 1024 // 34)
    fits = upload(client, "/admin/imports/roster", [("files", ("big.csv", rows, "text/csv"))])
    assert fits.status_code == 400 and "has more than 200,000 rows: split it" in fits.text
    # The 413 page's own form (Log out) works, though the upload's CSRF token was never read.
    again = upload(client, "/admin/imports/roster", [("files", ("huge.csv", huge, "text/csv"))])
    logged_out = client.post("/logout", data={"_csrf_token": csrf_from(again.text)}, follow_redirects=False)
    assert logged_out.status_code == 303


def test_the_history_lists_each_import_with_who_made_it_newest_first(client, db, people):
    as_hr(client, people)
    upload(client, "/admin/imports/roster", [example(name) for name in ROSTER])
    with db.session() as session:
        opens = datetime(2026, 7, 6, tzinfo=UTC)
        create_round(session, "2026 Q3", opens, opens + timedelta(days=14), now=opens)
    done = upload(client, "/admin/imports/external", [example("external_figures.csv")])
    assert done.status_code == 200 and "Customer figures imported" in done.text
    history = done.text.split("<h2>History</h2>", 1)[1]
    rows = re.findall(
        r'<tr><td class="nowrap">[\d\- :]+</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>',
        history,
    )
    assert [(kind, files, actor) for kind, files, actor, _ in rows] == [
        ("Customer figures", "external_figures.csv", people.hr),
        ("Roster", "units.csv, employees.csv", people.hr),
    ]
    assert "units: 19 created" in rows[1][3] and "employees: 64 created" in rows[1][3]


def test_a_database_failure_is_a_message_not_a_crash(client, db, people, monkeypatch):
    def failing(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setitem(imports_web.IMPORTERS, "roster", failing)
    as_hr(client, people)
    failed = upload(client, "/admin/imports/roster", [example("units.csv")])
    assert failed.status_code == 503 and "nothing was imported. Please try again" in failed.text
    monkeypatch.setattr(imports_api, "import_roster", failing)
    on_the_api = client.post(
        "/api/roster", files=[example("units.csv")], headers=token_with(db, "roster:write", "accounts:write")
    )
    assert on_the_api.status_code == 503
    assert on_the_api.json()["detail"] == "the database failed during the import; nothing was imported"


def test_the_example_files_download_and_nothing_else_does(client, people):
    as_hr(client, people)
    for name in ("units.csv", "employees.csv", "external_figures.csv"):
        got = client.get(f"/admin/imports/examples/{name}")
        assert got.status_code == 200 and got.content == (EXAMPLES / name).read_bytes()
        assert got.headers["content-disposition"] == f'attachment; filename="{name}"'
        assert got.headers["content-type"].startswith("text/csv")
        assert f'href="/admin/imports/examples/{name}"' in client.get("/admin/imports").text
    for name in ("README.md", "..%2F..%2Fpyproject.toml", "units.CSV"):
        assert client.get(f"/admin/imports/examples/{name}").status_code == 404, name


# --- The API ------------------------------------------------------------------------------------------------


def token_with(db, *scopes: str, name: str = "hr-system") -> dict[str, str]:
    with db.session() as session:
        _, token = create_api_token(session, name, scopes, None, datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def operations(client):
    """The API's own description, to check answers against."""
    return schemathesis.openapi.from_dict(client.get("/schema/openapi.json").json())


def test_the_api_imports_the_roster_with_a_roster_write_token(client, db, org, operations):
    headers = token_with(db, "roster:write", "accounts:write")
    before = roster_state(db)
    checked = client.post("/api/roster?dry_run=true", files=[example(n) for n in ROSTER], headers=headers)
    assert checked.status_code == 200 and checked.json()["dry_run"] and not checked.json()["applied"]
    assert roster_state(db) == before

    done = client.post("/api/roster", files=[example(n) for n in ROSTER], headers=headers)
    assert done.status_code == 200
    operations["/api/roster"]["POST"].validate_response(done)
    body = done.json()
    assert body["ok"] and body["applied"] and body["problems"] == []
    assert body["files"] == list(ROSTER)
    assert body["units"]["created"] == 19 and body["employees"]["created"] == 64
    assert "units: 19 created" in body["summary"]
    with db.session() as session:
        run = session.get(ImportRun, body["import_run_id"])
        assert run.actor == "api token hr-system" and run.kind == "roster"


def test_the_api_lists_every_problem_with_a_422_and_imports_nothing(client, db, org, operations):
    headers = token_with(db, "roster:write", "accounts:write")
    before = roster_state(db)
    refused = client.post(
        "/api/roster", files=[("files", ("staff.csv", THREE_ERRORS, "text/csv"))], headers=headers
    )
    assert refused.status_code == 422
    operations["/api/roster"]["POST"].validate_response(refused)
    assert refused.json() == {
        "status_code": 422,
        "detail": "3 problems; nothing was imported.",
        "problems": [
            {
                "file": "staff.csv",
                "line": 3,
                "column": "email",
                "message": "'not-an-address' is not an e-mail address",
            },
            {"file": "staff.csv", "line": 4, "column": "name", "message": "name is empty"},
            {
                "file": "staff.csv",
                "line": 5,
                "column": "unit_code",
                "message": "no unit has the code 'FL-NOWHERE'",
            },
        ],
    }
    assert roster_state(db) == before


def test_the_api_imports_only_with_the_right_scope(client, db, org):
    files = [example(n) for n in ROSTER]
    before = roster_state(db)
    assert client.post("/api/roster", files=files).status_code == 401
    wrong = client.post("/api/roster", files=files, headers=token_with(db, "roster:read", "external:write"))
    assert wrong.status_code == 403 and "roster:write" in wrong.json()["detail"]
    figures = [example("external_figures.csv")]
    reader = token_with(db, "external:read", name="reader")
    assert client.post("/api/external-figures", files=figures, headers=reader).status_code == 403
    assert (
        client.get(
            "/api/external-figures", headers=token_with(db, "roster:write", "accounts:write")
        ).status_code
        == 403
    )
    assert client.get("/api/external-figures").status_code == 401
    assert roster_state(db) == before


def test_the_api_refuses_a_body_without_files_and_an_upload_over_the_cap(client, db, org):
    headers = token_with(db, "roster:write", "accounts:write")
    missing = client.post(
        "/api/roster", files=[("other", ("units.csv", b"code", "text/csv"))], headers=headers
    )
    assert missing.status_code == 400 and "files" in missing.json()["detail"]
    for body in ({"files": "code,name,kind"}, None):  # a form that is not multipart, and no body at all
        assert client.post("/api/roster", data=body, headers=headers).status_code == 400
    huge = [("files", ("huge.csv", b"x" * (uploads.MAX_UPLOAD_BYTES + 1), "text/csv"))]
    too_large = client.post("/api/roster", files=huge, headers=headers)
    assert too_large.status_code == 413
    assert too_large.json()["detail"].startswith(f"The upload is larger than {uploads.MAX_UPLOAD_MB} MB")


def test_customer_figures_round_trip_through_the_api(client, db, org, operations):
    roster = token_with(db, "roster:write", "accounts:write", name="roster")
    assert client.post("/api/roster", files=[example(n) for n in ROSTER], headers=roster).status_code == 200
    with db.session() as session:
        opens = datetime(2026, 7, 6, tzinfo=UTC)
        round_id = create_round(session, "2026 Q3", opens, opens + timedelta(days=14), now=opens).id
        q4 = create_round(
            session, "2026 Q4", opens + timedelta(days=90), opens + timedelta(days=104), now=opens
        ).id
    headers = token_with(db, "external:write", "external:read")
    file = [example("external_figures.csv")]
    checked = client.post("/api/external-figures?dry_run=true", files=file, headers=headers)
    assert checked.status_code == 200 and checked.json()["created"] == 24
    assert client.get("/api/external-figures", headers=headers).json() == []

    done = client.post("/api/external-figures", files=file, headers=headers)
    assert done.status_code == 200
    operations["/api/external-figures"]["POST"].validate_response(done)
    assert done.json()["created"] == 24 and done.json()["applied"]

    listed = client.get(f"/api/external-figures?round_id={round_id}", headers=headers)
    assert listed.status_code == 200
    operations["/api/external-figures"]["GET"].validate_response(listed)
    figures = {(f["team_code"], f["metric"]): f for f in listed.json()}
    assert len(figures) == 24
    leeds = figures[("FL-LEEDS", "csat")]
    assert leeds["round_name"] == "2026 Q3" and leeds["round_id"] == round_id
    assert leeds["distribution"] == {"1": 9, "2": 8, "3": 14, "4": 65, "5": 66} and leeds["n"] == 162
    assert leeds["score"] == pytest.approx(100 * 131 / 162, abs=0.01)
    assert figures[("FL-LEEDS", "nps")]["n"] == 94 and figures[("FL-LEEDS", "nps")]["score"] == 28
    assert figures[("FL-LEEDS", "ces")]["mean"] == 4.88 and figures[("FL-LEEDS", "ces")]["score"] is None
    assert leeds["source"] == "external_figures.csv"
    assert client.get("/api/external-figures", headers=headers).json() == listed.json()

    assert client.get(f"/api/external-figures?round_id={q4}", headers=headers).json() == []
    assert client.get("/api/external-figures?round_id=99999", headers=headers).status_code == 404

    bad = b"team,period,metric,n,mean\nFL-LEEDS,2026 Q9,csat,10,7\n"
    refused = client.post(
        "/api/external-figures", files=[("files", ("f.csv", bad, "text/csv"))], headers=headers
    )
    assert refused.status_code == 422
    assert [(p["line"], p["column"]) for p in refused.json()["problems"]] == [(2, "mean"), (2, "period")]


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    files=st.lists(st.tuples(st.text(max_size=30), st.binary(max_size=400)), min_size=1, max_size=3),
    path=st.sampled_from(["/api/roster", "/api/external-figures"]),
)
def test_any_uploaded_bytes_get_a_described_answer_never_a_crash(client, db, operations, files, path):
    """Schemathesis sends file fields as plain form fields; here the bytes arrive as real files."""
    headers = token_with(db, "roster:write", "accounts:write", "external:write", name="fuzz")
    answer = client.post(
        path,
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
        headers=headers,
    )
    if any(not name for name, _ in files):  # a part without a file name is a form field, not a file
        assert answer.status_code == 400, answer.text
        return
    assert answer.status_code in (200, 422), answer.text
    operations[path]["POST"].validate_response(answer)


def test_naming_heads_through_the_api_needs_the_accounts_scope(client, db):
    refused = client.post(
        "/api/roster",
        files=[example("units.csv")],
        headers=token_with(db, "roster:write", name="roster only"),
    )
    assert refused.status_code == 403 and "accounts:write" in refused.json()["detail"]
    with db.session() as session:
        assert session.exec(select(User)).all() == [] and session.exec(select(Unit)).all() == []


# --- Who sees which unit needs accounts:write ------------------------------------------------------------

ORG_UNITS = (
    "code,name,kind,parent_code\n"
    "R1,North region,group,\n"
    "SF1,IT Service Desk,support,\n"
    "SF2,Logistics,support,\n"
    "FL1,Store 1,front_line,R1\n"
    "FL2,Store 2,front_line,R1\n"
    "FL3,Store 3,front_line,R1\n"
)


def units_file(text: str) -> list:
    return [("files", ("units.csv", text.encode(), "text/csv"))]


def test_a_roster_write_token_cannot_move_a_team_under_another_group(client, db, org):
    """The attack: a units file without head_email moves FL3 under a new group R2, whose head would then read
    FL3's reports, past rounds included."""
    moved = ORG_UNITS.replace("FL3,Store 3,front_line,R1", "FL3,Store 3,front_line,R2") + "R2,South,group,\n"
    headers = token_with(db, "roster:write", name="roster only")
    before = roster_state(db)
    refused = client.post("/api/roster", files=units_file(moved), headers=headers)
    assert refused.status_code == 403, refused.text
    assert (
        "units.csv row 7: parent_code of FL3 changes from R1 to R2: needs accounts:write"
        in refused.json()["detail"]
    )
    assert roster_state(db) == before  # R2 was not created either: nothing is applied
    checked = client.post("/api/roster?dry_run=true", files=units_file(moved), headers=headers)
    assert checked.status_code == 200 and checked.json()["units"]["updated"] == 1
    assert checked.json()["access_changes"] == ["units.csv row 7: parent_code of FL3 changes from R1 to R2"]
    assert roster_state(db) == before
    both = token_with(db, "roster:write", "accounts:write", name="roster and accounts")
    assert client.post("/api/roster", files=units_file(moved), headers=both).status_code == 200
    with db.session() as session:
        fl3 = session.exec(select(Unit).where(Unit.code == "FL3")).one()
        assert session.get(Unit, fl3.parent_id).code == "R2"


def test_a_roster_write_token_cannot_deactivate_a_unit_but_may_add_and_rename(client, db, org):
    headers = token_with(db, "roster:write", name="roster only")
    before = roster_state(db)
    dropped = ORG_UNITS.replace("SF2,Logistics,support,\n", "")
    refused = client.post("/api/roster", files=units_file(dropped), headers=headers)
    assert refused.status_code == 403
    assert (
        "unit SF2 is not in the file, which deactivates it: needs accounts:write" in refused.json()["detail"]
    )
    assert roster_state(db) == before
    grown = ORG_UNITS.replace("Store 1", "Store One") + "FL4,Store 4,front_line,R1\n"
    done = client.post("/api/roster", files=units_file(grown), headers=headers)
    assert done.status_code == 200 and done.json()["access_changes"] == []
    assert done.json()["units"] == {
        "created": 1,
        "updated": 1,
        "deactivated": 0,
        "reactivated": 0,
        "unchanged": 5,
    }
