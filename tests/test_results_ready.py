"""Results are ready at close: computed once a round closes, as work one process claims (a server's scheduler or
`survey tick`), and again after an import changes what they read. A page, report or API request never computes:
before the results are stored it says so (409 on the API), after an import it serves the last ones, marked as
being updated."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import TestClient
from sqlalchemy import select, update

from conftest import BASE_URL, start_round
from helpers import compute_results, log_in
from survey.accounts.api_tokens import API_SCOPES, create_api_token
from survey.accounts.users import create_user
from survey.analysis import analytics
from survey.db.engine import Database
from survey.db.models import ResultWork, Role, Round, RoundResult
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape
from survey.imports.figures import import_external_figures
from survey.imports.tabular import ImportFile
from survey.reports.data import round_data
from survey.rounds import results_work
from survey.rounds.lifecycle import create_round
from survey.rounds.results_work import RETRY_AFTER, results_pass
from survey.rounds.scheduler import run_scheduler, tick
from survey.web.app import create_app

SMALL = OrgShape(functions=3, teams=12, staff_per_team=8, customers_per_team=25, rounds=3, regions=2)
HR = "hr@example.com"


def _round_ids(db) -> list[int]:
    with db.session() as session:
        return list(session.exec(select(Round.id).order_by(Round.opens_at)).scalars())


@pytest.fixture
def token_client(client, db):
    with db.session() as session:
        _, token = create_api_token(session, "results", API_SCOPES, None, datetime.now(UTC))
        create_user(session, HR, "Hana HR", Role.HR, password="correct horse battery staple")
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@contextmanager
def computing_fails(monkeypatch):
    """Every way into computing results raises: a request that computed would fail loudly."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("a request computed results")

    with monkeypatch.context() as patch:
        for name in ("compute_results", "round_sums", "release_round", "link_round", "comments"):
            patch.setattr(analytics, name, refuse)
        yield calls


def _stored_rows(db, round_id: int) -> dict[str, RoundResult]:
    with db.session() as session:
        rows = session.exec(select(RoundResult).where(RoundResult.round_id == round_id)).scalars().all()
    return {(row.kind, row.key): row for row in rows}


def test_the_first_request_for_a_just_closed_rounds_results_does_not_compute(
    db, settings, token_client, run, monkeypatch, tmp_path
):
    simulate_into(db, SMALL, seed=6)  # every round closed by HR's close, as `survey round close` does
    last = _round_ids(db)[-1]
    client = token_client
    assert log_in(client, HR).status_code == 303
    pages = (
        f"/admin/rounds/{last}/results",
        f"/reports/{last}/organisation/pdf",
        f"/reports/{last}/organisation/html",
    )
    with computing_fails(monkeypatch) as computed:
        # Before the results work ran: the API answers 409, pages and reports say so in words, the CLI exits 2.
        for path in ("scores", "linkage", "linkage?outcome=nps"):
            response = client.get(f"/api/rounds/{last}/{path}")
            assert response.status_code == 409, response.text
            assert "are waiting to be computed" in response.json()["detail"]
        page = client.get(pages[0])
        assert page.status_code == 200 and "are waiting to be computed" in page.text
        for report in pages[1:]:
            response = client.get(report, headers={"accept": "text/html"})
            assert response.status_code == 409 and "are waiting to be computed" in response.text
        told = run("linkage", str(last))
        assert told.exit_code == 2 and "are waiting to be computed" in told.output
        told = run("report", str(last), "-o", str(tmp_path / "report.pdf"))
        assert told.exit_code == 2 and "are waiting to be computed" in told.output
        assert not (tmp_path / "report.pdf").exists()
        assert computed == []
    assert {kind for kind, _ in _stored_rows(db, last)} <= {"tree"}  # nothing but a unit tree, if anything

    # The scheduler's pass (the server's loop, or `survey tick`) computes every closed round's results.
    report = tick(db, settings)
    assert sorted((r.round_id, r.reason) for r in report.results) == [
        (r, "no results stored yet") for r in _round_ids(db)
    ]
    assert all(r.outcome.startswith("computed in") for r in report.results), report.results
    assert report.problems == []

    with computing_fails(monkeypatch) as computed:
        for path in (
            "scores",
            "linkage",
            "linkage?outcome=nps",
            "linkage?outcome=ces",
            "linkage?outcome=csat",
        ):
            response = client.get(f"/api/rounds/{last}/{path}")
            assert response.status_code == 200, response.text
            assert response.headers["survey-results"] == "current"
        linkage = client.get(f"/api/rounds/{last}/linkage").json()
        assert linkage["outcome"]["measure"] == "csat_pct" and linkage["message"]
        page = client.get(pages[0])
        assert (
            page.status_code == 200 and "Drivers of CSAT%" in page.text and "being updated" not in page.text
        )
        pdf = client.get(pages[1])
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert client.get(pages[2]).status_code == 200
        told = run("linkage", str(last), "--outcome", "nps")
        assert told.exit_code == 0 and "NPS shown" in told.output
        assert computed == []


def test_a_round_the_scheduler_closes_has_its_results_from_the_same_pass(db, org, settings, token_client):
    a_round = start_round(db)
    with db.session() as session:
        closes_at = session.get(Round, a_round.id).closes_at
    report = tick(db, settings, closes_at + timedelta(minutes=1))
    assert [(a.kind, a.outcome.split(";")[0]) for a in report.actions] == [("close", "closed")]
    assert [(r.round_name, r.reason) for r in report.results] == [(a_round.name, "no results stored yet")]
    assert "not enough data" in report.results[0].outcome  # nobody answered
    response = token_client.get(f"/api/rounds/{a_round.id}/linkage")
    assert response.status_code == 200 and not response.json()["enough_data"]
    assert log_in(token_client, HR).status_code == 303  # HR's timeline of the round says what the work did
    timeline = token_client.get(f"/admin/rounds/{a_round.id}").text
    assert "no results stored yet: computed in" in timeline


@pytest.mark.parametrize("workers", [2, 3])
def test_several_workers_compute_each_rounds_results_exactly_once(
    database_url, settings, db, workers, monkeypatch
):
    """Several processes' scheduler passes at once (each its own database connections; on PostgreSQL genuinely
    concurrent): each closed round's results are computed by one of them."""
    simulate_into(db, SMALL, seed=7)
    rounds = _round_ids(db)
    real = analytics.compute_results
    computed: list[int] = []
    lock = threading.Lock()

    def slow_compute(db, wanted, *args, **kwargs):
        with lock:
            computed.append(wanted.round_id)
        time.sleep(0.3)  # the others try to claim meanwhile
        return real(db, wanted, *args, **kwargs)

    monkeypatch.setattr(analytics, "compute_results", slow_compute)
    start = threading.Barrier(workers)
    reports = []

    def worker() -> None:
        own = Database(database_url)  # as another process would have
        try:
            start.wait()
            reports.append(results_pass(own, settings))
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(computed) == sorted(rounds)  # each once
    done = [r for report in reports for r in report.results]
    assert sorted(r.round_id for r in done if r.outcome.startswith("computed")) == sorted(rounds)
    assert all(not report.problems for report in reports), reports
    with db.engine.connect() as connection:
        states = analytics.result_states(connection, settings.min_group_size, settings.min_comment_group_size)
        work = connection.execute(select(ResultWork.round_id, ResultWork.done_at)).all()
    assert all(state.current for state in states.values())
    assert sorted(r for r, _ in work) == sorted(rounds) and all(done_at for _, done_at in work)


def test_an_import_is_computed_by_the_next_tick_and_the_old_results_are_served_meanwhile(
    db, settings, token_client
):
    sim = simulate_into(db, SMALL, seed=6)
    earlier, last = _round_ids(db)[-2:]
    compute_results(db, settings)
    first = token_client.get(f"/api/rounds/{last}/scores")
    assert first.status_code == 200 and first.headers["survey-results"] == "current"
    before = _stored_rows(db, last)
    assert {kind for kind, _ in before} == {
        "tree", "staff", "customers", "linkage", "linkage:csat_pct", "linkage:nps", "linkage:ces", "linkage:csat"
    }  # fmt: skip

    team = sim.teams[0]
    csv = f"team,period,metric,n,score\n{team.code},{sim.round_names[-1]},csat,100,50\n"
    assert import_external_figures(db, [ImportFile("f.csv", csv.encode())], actor="test").ok
    # Until the next pass: the same results, marked as being updated, on the API and HR's page.
    meanwhile = token_client.get(f"/api/rounds/{last}/scores")
    assert meanwhile.status_code == 200 and meanwhile.json() == first.json()
    assert meanwhile.headers["survey-results"] == "updating"
    assert meanwhile.headers["last-modified"] == first.headers["last-modified"]
    assert token_client.get(f"/api/rounds/{last}/linkage").headers["survey-results"] == "updating"
    assert log_in(token_client, HR).status_code == 303
    assert "These results are being updated" in token_client.get(f"/admin/rounds/{last}/results").text
    assert "are being updated" in token_client.get("/reports").text

    report = tick(db, settings)
    assert [(r.round_id, r.reason) for r in report.results] == [
        (last, "customer figures were imported for the round")
    ]
    after = token_client.get(f"/api/rounds/{last}/scores")
    assert after.headers["survey-results"] == "current"
    customers = {c["code"]: c for c in after.json()["customers"]}
    old = {c["code"]: c for c in first.json()["customers"]}
    assert customers[team.code]["scores"]["csat_pct"]["n"] == old[team.code]["scores"]["csat_pct"]["n"] + 100
    now = _stored_rows(db, last)
    assert set(now) == set(before)  # replaced, not added beside
    staff = next(key for key in before if key[0] == "staff")
    tree = ("tree", "")
    assert now[staff].payload == before[staff].payload and now[tree].payload == before[tree].payload
    assert tick(db, settings).results == []  # once

    # Figures of an earlier round change what the last round's linkage reads, not its scores.
    csv = f"team,period,metric,n,score\n{team.code},{sim.round_names[-2]},csat,100,50\n"
    assert import_external_figures(db, [ImportFile("f.csv", csv.encode())], actor="test").ok
    assert token_client.get(f"/api/rounds/{last}/scores").headers["survey-results"] == "current"
    assert token_client.get(f"/api/rounds/{last}/linkage").headers["survey-results"] == "updating"
    report = tick(db, settings)
    assert sorted((r.round_id, r.reason.split(":")[0]) for r in report.results) == sorted(
        [(earlier, "customer figures were imported for the round"), (last, "what its linkage reads changed")]
    )
    assert token_client.get(f"/api/rounds/{last}/linkage").headers["survey-results"] == "current"


def test_a_claim_whose_process_stopped_is_taken_over_after_a_while(db, settings, token_client):
    simulate_into(db, SMALL, seed=8)
    last = _round_ids(db)[-1]
    now = datetime.now(UTC)
    results_work.plan(db, settings, now, [last])
    with db.write() as connection:  # a process claimed the work, then died
        connection.execute(
            update(ResultWork)
            .where(ResultWork.round_id == last)
            .values(claimed_at=now, claimed_by="gone pid 1")
        )
    assert (
        results_pass(db, settings, now + RETRY_AFTER - timedelta(minutes=1), round_ids=[last]).results == []
    )
    response = token_client.get(f"/api/rounds/{last}/scores")
    assert response.status_code == 409 and "are being computed (since" in response.json()["detail"]
    taken_over = results_pass(db, settings, now + RETRY_AFTER + timedelta(minutes=1), round_ids=[last])
    assert [r.outcome.split(" in ")[0] for r in taken_over.results] == ["computed"]
    assert token_client.get(f"/api/rounds/{last}/scores").status_code == 200


def test_failed_work_says_so_and_is_tried_again_later(db, settings, token_client, monkeypatch):
    simulate_into(db, SMALL, seed=9)
    last = _round_ids(db)[-1]
    now = datetime.now(UTC)
    with monkeypatch.context() as patch:
        patch.setattr(analytics, "link_round", lambda *a, **k: 1 / 0)
        report = tick(db, settings, now)
    assert report.results and all(r.failed for r in report.results)
    assert "ZeroDivisionError" in report.problems[0]
    response = token_client.get(f"/api/rounds/{last}/linkage")
    assert response.status_code == 409 and "could not be computed" in response.json()["detail"]
    assert "tried again after 15 minutes" in response.json()["detail"]
    assert tick(db, settings, now + timedelta(minutes=1)).results == []  # not at every pass
    again = tick(db, settings, now + RETRY_AFTER + timedelta(minutes=1))
    assert sorted(r.round_id for r in again.results if r.outcome.startswith("computed")) == _round_ids(db)
    assert token_client.get(f"/api/rounds/{last}/linkage").status_code == 200


def test_a_closed_round_keeps_the_cells_it_was_released_with_when_the_group_size_is_raised(
    db, settings, token_client, monkeypatch
):
    """Attack: raise SURVEY_MIN_GROUP_SIZE after a round's results were released and read them again, for a
    second suppression pattern of the same round to subtract from the first. Each round keeps the group size it
    closed with: scores, linkage, response rates and the reports' data are exactly as before, and nothing is
    computed or stored for it under the new size, by any process."""
    simulate_into(db, SMALL, seed=10)
    compute_results(db, settings)
    rounds = _round_ids(db)
    paths = [f"/api/rounds/{r}/{what}" for r in rounds for what in ("scores", "linkage", "response-rates")]
    released = {path: token_client.get(path).json() for path in paths}
    reports = round_data(db, rounds[-1], settings)
    stricter = settings.with_(min_group_size=settings.min_group_size + 2)
    gated = []
    real_gate = analytics.release_round
    monkeypatch.setattr(analytics, "release_round", lambda *a, **kw: gated.append(a) or real_gate(*a, **kw))
    with TestClient(create_app(stricter), base_url=BASE_URL) as client:
        client.headers["Authorization"] = token_client.headers["Authorization"]
        assert tick(db, stricter).results == []
        assert {path: client.get(path).json() for path in paths} == released
    assert round_data(db, rounds[-1], stricter) == reports
    assert gated == []  # no second suppression pattern computed...
    with db.session() as session:
        keys = set(session.exec(select(RoundResult.key).where(RoundResult.kind != "tree")).scalars())
    assert not [key for key in keys if f" k{stricter.min_group_size}" in f" {key}"]  # ...nor stored
    assert tick(db, settings).results == [] and tick(db, stricter).results == []


def test_the_servers_scheduler_computes_results_beside_its_passes(db, settings):
    simulate_into(db, SMALL, seed=11)

    def ready() -> bool:
        with db.engine.connect() as connection:
            states = analytics.result_states(
                connection, settings.min_group_size, settings.min_comment_group_size
            )
        return all(state.ready for state in states.values())

    async def serve_a_while() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_scheduler(db, settings, stop, interval=0.05))
        for _ in range(600):
            await asyncio.sleep(0.05)
            if ready():
                break
        stop.set()
        await asyncio.wait_for(task, timeout=30)

    asyncio.run(serve_a_while())
    assert ready()


def test_survey_linkage_compute_computes_one_round_now_and_once(db, run):
    sim = simulate_into(db, SMALL, seed=12)
    name = sim.round_names[-1]
    first = run("linkage", name, "--compute")
    assert first.exit_code == 0 and "results (no results stored yet): computed in" in first.output
    assert "CSAT% shown" in first.output
    again = run("linkage", name, "--compute")
    assert again.exit_code == 0 and "computed in" not in again.output  # nothing to do: up to date
    with db.session() as session:
        later = datetime.now(UTC) + timedelta(days=30)
        create_round(session, "Later", later, later + timedelta(days=14))
    not_closed = run("linkage", "Later", "--compute")
    assert not_closed.exit_code == 2 and "its results are released when it closes" in not_closed.output
    assert "Traceback" not in not_closed.output


def test_a_rounds_work_waits_for_the_round_before_which_another_process_is_computing(db, settings):
    """A round's linkage carries on the findings stored with the round before's: its work is done after that one's,
    also when another process holds it."""
    simulate_into(db, SMALL, seed=13)
    first, middle, last = _round_ids(db)
    now = datetime.now(UTC)
    results_work.plan(db, settings, now)
    with db.write() as connection:  # another process is computing the middle round's results
        connection.execute(
            update(ResultWork)
            .where(ResultWork.round_id == middle)
            .values(claimed_at=now, claimed_by="another pid 2", outcome="computing: scores")
        )
    report = results_pass(db, settings, now)
    assert [r.round_id for r in report.results] == [first]  # the last one waits
    with db.session() as session:
        waiting = session.exec(select(ResultWork.outcome).where(ResultWork.round_id == last)).scalar_one()
    assert waiting.startswith("waiting: the results of the round before are computed first")
    # That process stopped: the middle round's work is taken over after a while, and the last one's follows.
    later = results_pass(db, settings, now + RETRY_AFTER + timedelta(minutes=1))
    assert [r.round_id for r in later.results] == [middle, last]


def test_a_rounds_linkage_carries_on_the_findings_stored_with_the_round_before(db, settings, monkeypatch):
    shape = OrgShape(functions=5, teams=40, staff_per_team=12, customers_per_team=120, rounds=5)
    simulate_into(db, shape, seed=11, drop_round=2)  # customers fall in the fourth round, and stay down
    *_, before, last = _round_ids(db)
    real, carried = analytics.link_round, {}

    def link_round(released, functions, teams, outcome, **options):
        carried[released[-1].round_id, outcome] = options["earlier"]
        return real(released, functions, teams, outcome, **options)

    monkeypatch.setattr(analytics, "link_round", link_round)
    compute_results(db, settings, last)  # and the rounds before it, oldest first
    found = analytics.linkage(db, before, settings.min_group_size, "csat_pct").findings
    ongoing = {
        (f.function.id, f.measure, tuple(t.team.id for t in f.teams)) for f in found if f.status == "ongoing"
    }
    assert ongoing  # the planted driver's finding
    assert {(e.function_id, e.measure, e.team_ids) for e in carried[last, "csat_pct"]} == ongoing
