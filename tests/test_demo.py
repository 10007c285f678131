"""`survey demo`: a newcomer's first look. It builds a realistic organisation whose data tells the planted story,
prints links that work, and serves them."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import mean

import httpx
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlalchemy import func, select, text

from helpers import (
    csrf_from,
    customer_answers,
    employee_answers,
    free_port,
    log_in,
    open_survey,
    submit_survey,
)
from survey.analysis import analytics
from survey.cli import main
from survey.db.engine import Database
from survey.db.models import ExternalResponse, InternalResponse, InternalReview
from survey.demo.build import DEMO_PASSWORD, build_demo
from survey.mail.outbox import render_message
from survey.rounds.scheduler import list_schedules
from survey.settings import Settings
from survey.vocabulary import EXTERNAL_MEASURES, INTERNAL_MEASURES
from survey.web.app import create_app

BASE = "https://demo.test"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "survey-demo.db"
    return build_demo(path, BASE, "demo-test-secret")


def test_the_demo_has_a_realistic_organisation_and_five_rounds(demo):
    db = Database(f"sqlite:///{demo.database}")
    with db.engine.connect() as c:
        kinds = dict(c.execute(text("SELECT kind, count(*) FROM unit GROUP BY kind")).all())
        staff = c.execute(
            text("SELECT min(n), max(n) FROM (SELECT count(*) n FROM employee GROUP BY unit_id) s")
        ).one()
        rounds = c.execute(
            text(
                "SELECT r.status, (SELECT count(*) FROM internal_response i WHERE i.round_id = r.id),"
                " (SELECT count(*) FROM external_response e WHERE e.round_id = r.id) FROM round r ORDER BY r.opens_at"
            )
        ).all()
    db.dispose()
    assert kinds["support"] >= 6 and kinds["front_line"] >= 30 and kinds["group"] >= 2
    assert staff == (12, 12)
    assert [r[0] for r in rounds] == ["published"] * 4 + ["open"]  # HR has published the closed rounds
    assert all(internal > 200 and external > 1000 for _, internal, external in rounds[:4])
    assert rounds[4][1] > 0


def _item_id(db, kind: str, code: str) -> int:
    with db.engine.connect() as c:
        return c.execute(
            text(
                "SELECT item.id FROM item JOIN instrument i ON i.id = item.instrument_id"
                " WHERE i.kind = :k AND code = :c"
                " AND i.version = (SELECT max(version) FROM instrument WHERE kind = :k)"
            ),
            {"k": kind, "c": code},
        ).scalar_one()


def test_the_planted_driver_fails_before_its_teams_customers_do(demo):
    """The story the demo tells: the driver's scores at some teams fall in one round and those teams'
    customers' satisfaction falls in the next, while other teams stay put. Means come from SQL over the
    JSON answers, as the analytics will compute them."""
    db = Database(f"sqlite:///{demo.database}")
    truth = demo.truth
    reliability = InternalReview.answers[str(_item_id(db, "internal", "REL"))].as_integer()
    csat_answer = ExternalResponse.answers[str(_item_id(db, "external", "CSAT"))].as_integer()
    with db.engine.connect() as c:
        internal = {
            (team, round_id): value
            for team, round_id, value in c.execute(
                select(InternalResponse.team_id, InternalResponse.round_id, func.avg(reliability))
                .join(InternalReview, InternalReview.response_id == InternalResponse.id)
                .where(InternalReview.function_id == demo.function_ids[truth.driver], InternalReview.used)
                .group_by(InternalResponse.team_id, InternalResponse.round_id)
            )
        }
        csat = {
            (team, round_id): value
            for team, round_id, value in c.execute(
                select(ExternalResponse.team_id, ExternalResponse.round_id, func.avg(csat_answer)).group_by(
                    ExternalResponse.team_id, ExternalResponse.round_id
                )
            )
        }
    db.dispose()
    rounds = sorted({r for _, r in csat})
    before, drop, after = (rounds[truth.internal_drop_round + k] for k in (-1, 0, 1))
    hit = [demo.team_ids[t] for t in truth.driver_teams]
    spared = [t for i, t in enumerate(demo.team_ids) if t not in hit and i not in truth.customer_only_teams]

    def change(scores, teams, start, end):
        return mean(
            scores[(t, end)] - scores[(t, start)]
            for t in teams
            if (t, end) in scores and (t, start) in scores
        )

    assert change(internal, hit, before, drop) < -0.8 < change(internal, spared, before, drop)
    assert abs(change(csat, hit, before, drop)) < 0.25  # customers have not felt it yet...
    assert change(csat, hit, drop, after) < -0.3 < change(csat, spared, drop, after)  # ...and then they do


@pytest.mark.web
def test_the_printed_links_work_and_the_employee_link_works_once(demo):
    settings = Settings(database_url=f"sqlite:///{demo.database}", secret_key="k" * 32, base_url=BASE)
    with TestClient(create_app(settings), base_url=BASE) as client:
        path = demo.employee_link.removeprefix(BASE)
        form = open_survey(client, path)
        assert form.status_code == 200
        db = Database(settings.database_url)
        with db.engine.connect() as connection:
            round_id = connection.execute(text("SELECT id FROM round WHERE status = 'open'")).scalar_one()
        assert submit_survey(client, form.text, employee_answers(db, round_id)).status_code == 303
        assert "already answered" in client.get(path, follow_redirects=True).text
        data, _ = customer_answers(client, demo.customer_link.removeprefix(f"{BASE}/c/"))
        assert client.post(demo.customer_link.removeprefix(BASE), data=data).status_code == 200  # thanks page
        db.dispose()


@pytest.mark.web
@pytest.mark.slow
def test_survey_demo_builds_prints_links_and_serves_them(tmp_path):
    """The README's first command, as a newcomer runs it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURVEY_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "survey", "demo", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            output.append(line)
            if "Application startup complete" in line or process.poll() is not None:
                break
        printed = "".join(output)
        assert "Application startup complete" in printed, printed
        employee_link = re.search(rf"http://127\.0\.0\.1:{port}/i/\S+", printed).group()
        customer_link = re.search(rf"http://127\.0\.0\.1:{port}/c/\S+", printed).group()
        assert httpx.get(f"http://127.0.0.1:{port}/health").json() == {"status": "ok"}
        with httpx.Client(follow_redirects=True) as browser:
            survey = browser.get(employee_link)
            assert survey.status_code == 200 and "How well do our support functions serve you?" in survey.text
            assert str(survey.url).endswith("/survey")
        assert "How did" in httpx.get(customer_link).text
        password = re.search(r"password for every demo account: (\S+)\)", printed).group(1)
        hr_email = re.search(r"(\S+@demo\.example) +HR", printed).group(1)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True) as browser:
            token = csrf_from(browser.get("/login").text)
            admin = browser.post(
                "/login", data={"email": hr_email, "password": password, "_csrf_token": token}
            )
            assert (
                admin.status_code == 200 and str(admin.url).endswith("/admin") and "Open rounds" in admin.text
            )
            # HR's round page links the reports the demo rendered, and the server hands out those very files.
            folder = Path(re.search(r"one for the organisation: (\S+)", printed).group(1))
            round_id = folder.name.removeprefix("round-")
            links = re.findall(
                rf"/reports/{round_id}/(\d+)/pdf", browser.get(f"/admin/rounds/{round_id}").text
            )
            assert len(links) == 40  # every unit's (and the organisation's, under its own name)
            served = browser.get(f"/reports/{round_id}/{links[0]}/pdf")
            assert served.content == next(folder.glob(f"{links[0]}-*.pdf")).read_bytes()
        assert (tmp_path / "survey-demo.db").exists()
        db = Database(f"sqlite:///{tmp_path / 'survey-demo.db'}")
        with db.engine.connect() as connection:
            names = dict(connection.execute(text("SELECT code, name FROM unit")).all())
        db.dispose()
        assert_every_report_reads_well(folder, names)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    log = "".join(output) + process.stdout.read()
    assert (
        employee_link.rsplit("/", 1)[1] not in log.split("Open next:")[1].split("Serving on")[1]
    )  # not logged


def test_demo_without_serving_is_quiet_about_servers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--no-reports", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/i/" in result.output and "Serving" not in result.output
    assert not (tmp_path / "survey-demo-reports").exists()


def assert_every_report_reads_well(folder: Path, names: dict[str, str]) -> None:
    """Every report of the demo's published round: 41 PDFs, each naming its unit and the round, stating its
    findings, and printing no figure on fewer than 5 people nor anything of Python's."""
    from pypdf import PdfReader

    pdfs = sorted(folder.glob("*.pdf"))
    assert len(pdfs) == 1 + 3 + 7 + 30  # the organisation, 3 regions, 7 functions, 30 teams
    for pdf in pdfs:
        text = "\n".join(page.extract_text() for page in PdfReader(pdf).pages)
        # kept as the server keeps them: by unit id and code (5-SF02.pdf)
        name = "The whole organisation" if pdf.stem == "organisation" else names[pdf.stem.split("-", 1)[1]]
        assert name in text and "What to do" in text and re.search(r"ROUND \d{4} Q\d", text), pdf.name
        assert all(int(n) >= 5 for n in re.findall(r"\bn\s*=?\s*(\d+)", text)), pdf.name
        assert not re.search(r"n =? ?None|None \(|\[None|\bnan\b|\binf\b", text), pdf.name  # Python's leaking


def test_hr_finds_the_open_rounds_invitations_in_the_outbox_and_a_quarterly_schedule(demo):
    """The demo has no mail server: the invitations wait in the outbox, where HR can read them."""
    db = Database(f"sqlite:///{demo.database}")
    try:
        with db.engine.connect() as c:
            invited = c.execute(
                text(
                    "SELECT count(*) FROM invitation JOIN round ON round.id = invitation.round_id WHERE status = 'open'"
                )
            ).scalar_one()
            first = c.execute(text("SELECT min(id) FROM outbox")).scalar_one()
            invitations = c.execute(
                text("SELECT count(*) FROM outbox WHERE kind = 'invitation' AND state = 'stored'")
            ).scalar_one()
        # every invitation of the open round is stored (the overdue demo action's reminder may be too)
        assert invitations == invited > 0
        mail = render_message(db, Settings(secret_key="demo-test-secret", base_url=BASE), first)
        assert f"{BASE}/i/" in mail.text and "anonymous" in mail.text
        with db.session() as session:
            (schedule,) = list_schedules(session)
        assert schedule.description.startswith("first Monday of Jan, Apr, Jul, Oct at 09:00 Europe/Berlin")
    finally:
        db.dispose()


@pytest.mark.web
def test_the_demo_shows_every_closed_rounds_results_straight_away(demo, monkeypatch):
    """Its closed rounds' results were computed as it was built, as the scheduler computes them at a close: HR's
    results page tells the planted story on the first request, which computes nothing."""
    settings = Settings(database_url=f"sqlite:///{demo.database}", secret_key="k" * 32, base_url=BASE)
    db = Database(settings.database_url)
    with db.engine.connect() as connection:
        states = analytics.result_states(connection, settings.min_group_size, settings.min_comment_group_size)
    assert len(states) == 4 and all(state.current for state in states.values())
    monkeypatch.setattr(analytics, "compute_results", None)  # a request that computed would fail
    with TestClient(create_app(settings), base_url=BASE) as client:
        assert log_in(client, "hr@demo.example", DEMO_PASSWORD).status_code == 303
        page = client.get(f"/admin/rounds/{demo.published_round_id}/results")
    with db.engine.connect() as connection:
        name = connection.execute(
            text("SELECT name FROM unit WHERE id = :id"), {"id": demo.function_ids[demo.truth.driver]}
        ).scalar_one()
    db.dispose()
    assert page.status_code == 200 and "Drivers of CSAT%" in page.text
    assert f'{name} <span class="badge low">precedes</span>' in page.text  # the planted story, told


def test_no_released_figure_of_the_demo_states_what_its_respondents_answered(demo):
    """Attribute disclosure (issue 13): a figure whose respondents all gave the same answer (a spread of 0, or a
    mean at either end of the 1 to 7 scale) states each one's answer; so does a usage count of nobody. The demo's
    closed rounds, as stored and shown, release none (before the gate hid them, they released 62 such scores)."""
    settings = Settings(database_url=f"sqlite:///{demo.database}", secret_key="k" * 32, base_url=BASE)
    db = Database(settings.database_url)
    with db.engine.connect() as connection:
        round_ids = list(
            analytics.result_states(connection, settings.min_group_size, settings.min_comment_group_size)
        )
    stated, shown = [], 0
    for round_id in round_ids:
        scores = analytics.scores(db, round_id, settings.min_group_size, settings.min_comment_group_size)
        for function in scores.functions:
            for cell in function.cells:
                for measure in INTERNAL_MEASURES:
                    figure = cell.scores.of(measure)
                    if figure is None:
                        continue
                    shown += 1
                    if figure.sd == 0 or figure.mean in (1.0, 7.0):
                        stated.append((round_id, function.code, cell.code, measure, figure))
                if cell.usage is not None and cell.usage.used == 0:
                    stated.append((round_id, function.code, cell.code, "usage", cell.usage))
        for customer in scores.customers:
            for measure in EXTERNAL_MEASURES:
                figure = customer.scores.of(measure)
                if figure is not None and figure.sd == 0:
                    stated.append((round_id, "customers", customer.code, measure, figure))
    db.dispose()
    assert len(round_ids) == 4 and shown > 5000  # heads still see nearly every score
    assert stated == []


def test_the_demos_function_head_finds_their_promises_in_force_from_the_first_round(demo):
    from sqlmodel import select as model_select

    from survey.db.models import Round
    from survey.promises import store

    db = Database(f"sqlite:///{demo.database}")
    try:
        with db.session() as session:
            rounds = session.exec(model_select(Round).order_by(Round.opens_at)).all()
            for function_id in demo.function_ids:
                first = store.in_force(session, rounds[0], [function_id])[function_id]
                assert 2 <= len(first.promises) <= 4
                assert all(p.translations.get("de") for p in first.promises)
                assert store.in_force(session, rounds[-1], [function_id])[function_id] == first
    finally:
        db.dispose()
    settings = Settings(database_url=f"sqlite:///{demo.database}", secret_key="k" * 32, base_url=BASE)
    with TestClient(create_app(settings), base_url=BASE) as client:
        log_in(client, "function.head@demo.example", DEMO_PASSWORD)
        driver = demo.function_ids[demo.truth.driver]
        page = client.get(f"/units/{driver}/promises")
        assert page.status_code == 200 and "Write the next version" in page.text
        assert "What we promise" in client.get(f"/units/{driver}").text


@pytest.mark.web
def test_the_function_head_reads_which_of_the_demos_actions_worked_in_the_report_and_the_dashboard(demo):
    """The demo's driver took two actions answering its second round: one restored its service at the teams it
    targeted, one changed nothing. Its head's PDF report and dashboard of the latest round say which is which,
    in the one section of promises and actions: the actions answering the latest round open, or done and too
    early to tell."""
    import html

    from pypdf import PdfReader

    settings = Settings(database_url=f"sqlite:///{demo.database}", secret_key="k" * 32, base_url=BASE)
    db = Database(settings.database_url)
    round_id = demo.published_round_id
    stored = analytics.read_action_effects(
        db, round_id, settings.min_group_size, function_id=demo.function_ids[demo.truth.driver]
    ).result
    db.dispose()
    from survey.demo.build import DEMO_ACTIONS

    # The two planted actions answer the second round; the head's later actions answer the latest one: too early.
    by_title = {effect.titles[0]: effect for effect in stored}
    worked, unchanged = by_title[DEMO_ACTIONS[0][0]], by_title[DEMO_ACTIONS[1][0]]
    assert {effect.verdict for effect in stored if effect not in (worked, unchanged)} == {"too early"}
    assert (worked.verdict, worked.customers_verdict) == ("working", "better")
    assert unchanged.verdict == "no clear change" and unchanged.customers_verdict != "better"
    with TestClient(create_app(settings), base_url=BASE) as client:
        assert log_in(client, "function.head@demo.example", DEMO_PASSWORD).status_code == 303
        pdf = client.get(f"/reports/{round_id}/{demo.function_ids[demo.truth.driver]}/pdf")
        dashboard = client.get(f"/my?round={round_id}").text
    assert pdf.status_code == 200
    printed = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).split())
    assert "Did our actions work?" in printed
    assert " ".join(worked.sentence.split()) in printed
    assert f"{worked.titles[0]} (answering " in printed and "Working; customers better" in printed
    section = dashboard.split('<section class="promises-actions"')[1].split("</section>\n</section>")[0]
    for heading in ("What we promise", "Open actions", "Did our actions work?"):
        assert heading in section, heading
    done = re.findall(r"<li><a href=\"/actions/\d+\"><strong>([^<]+)</strong></a>[^:]*: ([^.]+)\.", section)
    verdicts = {html.unescape(title): verdict for title, verdict in done}
    assert verdicts[worked.titles[0]] == "Working; customers better"
    assert verdicts[unchanged.titles[0]].startswith("No clear change")
    # the actions answering the latest round: done without a round measured since, the others open
    assert verdicts["Spare tills kept in every region"] == "Too early to tell"
    open_part = section.split("<h4>Open actions</h4>")[1].split("<h4>Did our actions work?</h4>")[0]
    assert "Card readers replaced in the older stores" in open_part and "Overdue" in open_part
    assert "Spare tills kept in every region (answering " in printed and "Too early to tell" in printed


def test_the_demos_heads_find_actions_and_plan_one_from_a_finding_prefilled(demo, tmp_path):
    """The driver function's head finds actions in each state, and plans one from the dashboard's finding: the
    form comes prefilled with what it answers, the dimension and the hotspot teams. The team head finds the
    request answered and the action for the team."""
    import html
    import sqlite3

    copy = tmp_path / "demo.db"  # the action planned here must not change the demo the other tests read
    with sqlite3.connect(demo.database) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    settings = Settings(database_url=f"sqlite:///{copy}", secret_key="k" * 32, base_url=BASE)
    function_id = demo.function_ids[demo.truth.driver]
    failed = {demo.team_ids[t] for t in demo.truth.driver_teams}
    with TestClient(create_app(settings), base_url=BASE) as client:
        assert log_in(client, "function.head@demo.example", DEMO_PASSWORD).status_code == 303
        listing = client.get(f"/units/{function_id}/actions").text
        for words in ("Overdue: was due", "Under way", "Planned", "Done"):
            assert words in listing, words
        dashboard = client.get(f"/units/{function_id}").text
        link = re.search(r'The finding: [^<]*: <a href="([^"]+)">plan an action', dashboard)
        assert link, "no 'Plan an action' beside the finding"
        form = client.get(html.unescape(link.group(1))).text
        assert '<option value="finding" selected>' in form
        checked = {int(t) for t in re.findall(r'name="team" value="(\d+)" checked', form)}
        assert checked and checked <= failed
        fields = {
            "title": "Weekly call with each affected store",
            "due_on": (datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
            "owner": re.search(r'<option value="(\d+)" selected>Fiona', form).group(1),
            "round": re.search(r'<select id="round" name="round"><option value="(\d+)"', form).group(1),
            "source": "finding",
            "dimension": re.search(
                r'<select id="dimension"[^>]*>.*?<option value="(\w+)" selected>', form
            ).group(1),
            "team": [str(t) for t in sorted(checked)],
            "_csrf_token": csrf_from(form),
        }
        planned = client.post(f"/units/{function_id}/actions", data=fields, follow_redirects=False)
        assert planned.status_code == 303, planned.text
        page = client.get(planned.headers["location"]).text
        assert "Weekly call with each affected store" in page and "a finding of the round" in page
    with TestClient(create_app(settings), base_url=BASE) as client:
        assert log_in(client, "team.head@demo.example", DEMO_PASSWORD).status_code == 303
        mine = client.get(f"/units/{demo.team_ids[0]}/requests").text
        assert "Each team now has a named contact" in mine
        assert "A named contact answers each team" in mine


@pytest.mark.web
def test_the_demos_team_head_and_executive_find_the_actions_on_their_dashboards(demo):
    """The team head's dashboard lists the action for the team (with its function and status) and the request
    they raised, answered; the executive's has a line per function with actions, linking to every action."""
    import html

    settings = Settings(database_url=f"sqlite:///{demo.database}", secret_key="k" * 32, base_url=BASE)
    with TestClient(create_app(settings), base_url=BASE) as client:
        assert log_in(client, "team.head@demo.example", DEMO_PASSWORD).status_code == 303
        page = client.get("/my").text
    team = html.unescape(page.split('<section class="team-actions"')[1].split("</section>")[0])
    assert "A named contact answers each team's calls the same day" in team and "Under way" in team
    assert "Each team now has a named contact" in team or "Answered" in team
    with TestClient(create_app(settings), base_url=BASE) as client:
        assert log_in(client, "exec@demo.example", DEMO_PASSWORD).status_code == 303
        page = client.get("/my").text
    summary = page.split('<section class="action-summary"')[1].split("</section>")[0]
    rows = re.findall(r'<th scope="row">([^<]+)</th>((?:<td class="num">.*?</td>)+)</tr>', summary)
    assert len(rows) == 1, rows  # only the driver has actions
    cells = re.findall(r'<td class="num">(.*?)</td>', rows[0][1])
    assert [re.sub(r"<[^>]+>", "", c) for c in cells] == ["2", "1", "3", "1 of 2"], cells
    assert '<a href="/actions">' in summary
