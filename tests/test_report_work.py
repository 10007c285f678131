"""Publishing a round renders every report as work that any process claims report by report through the
database, and mails each head and executive that their results are ready, and HR a summary: once each, also
when publishing is retried or two processes race."""

from __future__ import annotations

import asyncio
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from helpers import log_in
from smtp_server import serving
from survey.accounts.api_tokens import create_api_token
from survey.accounts.users import create_user
from survey.db.engine import Database
from survey.db.models import OutboxMessage, ReportWork, Role, Round, utc_now
from survey.demo.build import simulate_into
from survey.demo.simulation import OrgShape
from survey.mail.delivery import deliver_pending
from survey.mail.results_mail import queue_results_mails
from survey.reports import work
from survey.reports.catalogue import round_reports
from survey.reports.render import round_folder
from survey.reports.work import LEASE, queue_round_reports, render_work, reports_pass
from survey.rounds.results_work import Claim, results_pass
from survey.rounds.scheduler import take_step

# 2 regions, 2 functions, 6 teams and the organisation: 11 reports
SHAPE = OrgShape(functions=2, teams=6, staff_per_team=6, customers_per_team=20, rounds=2, regions=2)
REPORTS = 11
HR, EXECUTIVE, FUNCTION_HEAD, REGION_HEAD = (
    "hr@example.com",
    "exec@example.com",
    "it.head@example.com",
    "north.head@example.com",
)
PASSWORD = "correct horse battery staple"


@pytest.fixture
def closed(db, settings) -> int:
    """A closed round with its results computed, and the accounts: HR, an executive, the head of a support
    function (SF01) and the head of a region (R1, with its teams)."""
    simulate_into(db, SHAPE, seed=3)
    assert not results_pass(db, settings).problems
    with db.session() as session:
        for email, name, role, units in (
            (HR, "Hana HR", Role.HR, ()),
            (EXECUTIVE, "Erik Exec", Role.EXECUTIVE, ()),
            (FUNCTION_HEAD, "Ines IT", Role.HEAD, ("SF01",)),
            (REGION_HEAD, "Nora North", Role.HEAD, ("R1",)),
        ):
            create_user(session, email, name, role, units, password=PASSWORD)
        session.commit()
        return session.exec(select(Round.id).order_by(Round.opens_at.desc())).first()[0]


def _work(db, round_id: int) -> list[tuple[str, object, str | None]]:
    with db.engine.connect() as connection:
        return list(
            connection.execute(
                select(ReportWork.report, ReportWork.done_at, ReportWork.outcome).where(
                    ReportWork.round_id == round_id
                )
            )
        )


def _results_mails(db) -> list[tuple[str, str]]:
    with db.engine.connect() as connection:
        return sorted(
            (kind, recipient)
            for kind, recipient in connection.execute(
                select(OutboxMessage.kind, OutboxMessage.recipient).where(OutboxMessage.round_id.is_not(None))
            )
        )


def _publish(client, round_id: int):
    page = client.get(f"/admin/rounds/{round_id}")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post(
        f"/admin/rounds/{round_id}/publish", data={"_csrf_token": token}, follow_redirects=False
    )


def test_publishing_queues_one_piece_of_work_per_report_and_each_mail_once(db, settings, client, closed):
    assert log_in(client, HR).status_code == 303
    assert _publish(client, closed).status_code == 303
    with db.session() as session:
        paths = sorted(ref.path for ref in round_reports(session, session.get(Round, closed)))
    work_rows = _work(db, closed)
    assert sorted(report for report, _, _ in work_rows) == paths and len(paths) == REPORTS
    assert all(done_at is None for _, done_at, _ in work_rows)
    expected = [
        ("results_ready", EXECUTIVE),
        ("results_ready", FUNCTION_HEAD),
        ("results_ready", REGION_HEAD),
        ("results_summary", HR),
    ]
    assert _results_mails(db) == expected
    page = client.get(f"/admin/rounds/{closed}").text
    assert f"0 of {REPORTS} reports ready" in page
    # A download before its report's turn is rendered there and then.
    download = client.get(f"/reports/{closed}/organisation/pdf")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")

    # Publishing again is refused and queues nothing; a second process racing the first adds nothing either.
    again = _publish(client, closed)
    assert again.status_code == 409 and "is published; it cannot become published" in again.text
    with pytest.raises(Exception, match="cannot become published"):
        take_step(db, settings, closed, "publish")
    with db.write_session() as session:
        a_round = session.get(Round, closed)
        assert queue_round_reports(session, a_round, utc_now()) == 0
        assert queue_results_mails(session, a_round, utc_now()) == 0
    assert len(_work(db, closed)) == REPORTS and _results_mails(db) == expected


def test_two_workers_render_each_report_exactly_once_and_downloads_serve_it(
    database_url, db, settings, client, closed, monkeypatch
):
    take_step(db, settings, closed, "publish")
    rendered: list[str] = []
    lock = threading.Lock()
    real = work.render_pdf

    def counted(context):
        with lock:
            rendered.append(context["document_id"])
        return real(context)

    monkeypatch.setattr(work, "render_pdf", counted)
    start = threading.Barrier(2)
    reports = []

    def worker() -> None:
        own = Database(database_url)  # as another server process would have
        try:
            start.wait()
            reports.append(reports_pass(own, settings))
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(rendered) == REPORTS and len(set(rendered)) == REPORTS  # each once
    assert len(reports) == 2  # both passes finished
    assert sum(len(r.rendered) for r in reports) == REPORTS and not any(r.problems for r in reports)
    assert all(
        done_at is not None and outcome.startswith("rendered") for _, done_at, outcome in _work(db, closed)
    )
    assert reports_pass(db, settings).rendered == []  # nothing left

    # A head's download is the PDF the work kept: nothing is rendered for it.
    monkeypatch.setattr(work, "render_pdf", lambda context: pytest.fail("rendered again"))
    from survey.reports import downloads

    monkeypatch.setattr(downloads, "render_pdf", lambda context: pytest.fail("rendered on demand"))
    assert log_in(client, FUNCTION_HEAD).status_code == 303
    with db.session() as session:
        sf01 = next(r for r in round_reports(session, session.get(Round, closed)) if r.code == "SF01")
        kept = session.exec(
            select(ReportWork.pdf).where(ReportWork.round_id == closed, ReportWork.report == sf01.path)
        ).one()[0]
    response = client.get(f"/reports/{closed}/{sf01.path}/pdf")
    assert response.status_code == 200 and response.content == kept and kept.startswith(b"%PDF")


def test_a_report_whose_worker_died_is_taken_over_after_its_lease(db, settings, closed):
    take_step(db, settings, closed, "publish")
    now = utc_now()
    with db.engine.connect() as connection:
        first = connection.execute(
            select(ReportWork.id, ReportWork.report)
            .where(ReportWork.round_id == closed)
            .order_by(ReportWork.id)
        ).first()
    dead = Claim(db, first.id, now, None, ReportWork, LEASE)  # a process that claimed it, then was killed
    assert dead.take()

    assert render_work(db, settings, first.id, now + LEASE - timedelta(minutes=1)) is None  # still held
    soon = reports_pass(db, settings, now + LEASE - timedelta(minutes=1))
    assert len(soon.rendered) == REPORTS - 1
    left = [(report, done_at) for report, done_at, _ in _work(db, closed) if done_at is None]
    assert left == [(first.report, None)]

    later = reports_pass(db, settings, now + LEASE + timedelta(minutes=1))
    assert len(later.rendered) == 1 and not later.problems
    assert all(done_at is not None for _, done_at, _ in _work(db, closed))


def test_progress_and_failures_show_on_hrs_round_page_and_the_api(db, settings, client, closed, monkeypatch):
    take_step(db, settings, closed, "publish")
    real = work.render_pdf

    def failing_for_teams(context):
        if context["kind"] == "team":
            raise RuntimeError("the font cache is gone")
        return real(context)

    monkeypatch.setattr(work, "render_pdf", failing_for_teams)
    first = reports_pass(db, settings)
    assert len(first.rendered) == REPORTS - 6 and len(first.problems) == 6
    assert log_in(client, HR).status_code == 303
    page = client.get(f"/admin/rounds/{closed}").text
    assert f"{REPORTS - 6} of {REPORTS} reports ready; 6 failed" in page
    assert "Front-line team report: " in page and "the font cache is gone" in page

    monkeypatch.setattr(work, "render_pdf", real)
    assert reports_pass(db, settings).rendered == []  # failed work waits for its lease...
    retried = reports_pass(db, settings, utc_now() + LEASE + timedelta(minutes=1))
    assert len(retried.rendered) == 6 and not retried.problems
    page = client.get(f"/admin/rounds/{closed}").text
    assert f"{REPORTS} of {REPORTS} reports ready." in page and "failed" not in page.split("Timeline")[0]
    with db.session() as session:
        _, token = create_api_token(session, "progress", ["rounds:read"], None, utc_now())
    client.cookies.clear()
    api = client.get(f"/api/rounds/{closed}", headers={"Authorization": f"Bearer {token}"}).json()
    assert (api["reports_ready"], api["reports_total"]) == (REPORTS, REPORTS)


def test_reports_wait_for_their_rounds_results_and_a_download_meanwhile_renders_on_demand(
    db, settings, client, closed
):
    """A round published before its results are computed: its reports wait (handed back, not failed)."""
    from survey.db.models import RoundResult

    take_step(db, settings, closed, "publish")
    with db.write() as connection:
        connection.execute(RoundResult.__table__.delete().where(RoundResult.round_id == closed))
    waiting = reports_pass(db, settings)
    assert waiting.rendered == [] and waiting.problems == []
    assert all(done_at is None for _, done_at, _ in _work(db, closed))
    assert results_pass(db, settings).problems == []
    assert len(reports_pass(db, settings).rendered) == REPORTS


def test_a_reports_folder_receives_the_pdfs_where_downloads_find_them(db, settings, closed, tmp_path):
    folder = tmp_path / "kept"
    settings = settings.with_(reports_dir=str(folder))
    take_step(db, settings, closed, "publish")
    assert len(reports_pass(db, settings).rendered) == REPORTS
    with db.session() as session:
        refs = round_reports(session, session.get(Round, closed))
    kept = round_folder(folder, closed)
    assert sorted(p.name for p in kept.glob("*.pdf")) == sorted(ref.cache_name for ref in refs)
    with db.engine.connect() as connection:
        assert connection.execute(select(ReportWork.pdf).where(ReportWork.pdf.is_not(None))).first() is None
    from survey.reports.downloads import report_pdf

    before = {p: p.stat().st_mtime_ns for p in kept.glob("*.pdf")}
    assert report_pdf(db, settings, refs[-1]) == (kept / refs[-1].cache_name).read_bytes()
    assert {p: p.stat().st_mtime_ns for p in kept.glob("*.pdf")} == before  # served, not rendered again


def _deliver(db, settings):
    return asyncio.run(deliver_pending(db, settings, utc_now() + timedelta(seconds=1)))


def test_each_head_and_executive_gets_one_mail_naming_only_their_units_and_hr_a_summary(
    db, settings, client, closed
):
    with serving(settings) as (mailbox, mailing):
        take_step(db, mailing, closed, "publish")
        with pytest.raises(Exception, match="cannot become published"):
            take_step(db, mailing, closed, "publish")
        assert _deliver(db, mailing).sent == 4
        assert _deliver(db, mailing).sent == 0  # nothing twice
    by_recipient = {r.recipients[0]: r for r in mailbox.received}
    assert sorted(by_recipient) == sorted([HR, EXECUTIVE, FUNCTION_HEAD, REGION_HEAD])
    with db.session() as session:
        refs = round_reports(session, session.get(Round, closed))
    names = {ref.code: ref.name for ref in refs if ref.code}

    it = by_recipient[FUNCTION_HEAD]
    assert it.subject.startswith("Your results from the") and it.subject.endswith("survey are ready")
    first_line = it.text.splitlines()[0]  # the headline first
    assert first_line.startswith("The results of the") and first_line.endswith(
        f"are ready for {names['SF01']}."
    )
    for code, name in names.items():  # only their own unit's report is named
        assert (name in it.text) == (code == "SF01"), code
        assert (name in it.html) == (code == "SF01"), code

    north = by_recipient[REGION_HEAD].text
    region_teams = [ref for ref in refs if ref.kind == "team" and f"/{ref.path}/pdf" in north]
    assert len(region_teams) == 3 and names["R1"] in north and names["R2"] not in north
    assert not any(names[code] in north for code in ("SF01", "SF02"))

    summary = by_recipient[HR]
    assert summary.subject.endswith("is published: the results in brief")
    assert re.search(r"Response rate: \d+ of \d+ people answered \(\d+%\)", summary.text)
    assert "support functions with an overall score: 2 of 2" in summary.text
    assert f"/admin/rounds/{closed}" in summary.text
    assert "the whole organisation" in by_recipient[EXECUTIVE].text


def test_a_heads_mail_links_open_after_sign_in(db, settings, client, closed):
    with serving(settings) as (mailbox, mailing):
        take_step(db, mailing, closed, "publish")
        _deliver(db, mailing)
    mail = next(r for r in mailbox.received if r.recipients[0] == REGION_HEAD)
    links = re.findall(r"https?://\S+", mail.text)
    assert links and all(link.startswith(settings.base_url) for link in links)
    paths = [link[len(settings.base_url.rstrip("/")) :] for link in links]
    for path in paths:  # signed out: the sign-in page, then back here
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (302, 303) and "/login" in response.headers["location"], path
    assert log_in(client, REGION_HEAD).status_code == 303
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        if path.endswith("/pdf"):
            assert response.content.startswith(b"%PDF")


def test_mails_are_queued_only_for_accounts_that_may_read_a_report(db, settings, closed):
    """A head of a unit that took no part, and a deactivated executive, get nothing."""
    from survey.db.models import Unit, User
    from survey.vocabulary import UnitKind

    with db.session() as session:
        session.add(Unit(code="SF99", name="Archive", kind=UnitKind.SUPPORT))
        session.commit()
        create_user(
            session, "archive.head@example.com", "Arne Archive", Role.HEAD, ("SF99",), password=PASSWORD
        )
        session.commit()
    with db.write() as connection:
        connection.execute(update(User).where(User.email == EXECUTIVE).values(active=False))
    take_step(db, settings, closed, "publish")
    recipients = [recipient for _, recipient in _results_mails(db)]
    assert sorted(recipients) == sorted([HR, FUNCTION_HEAD, REGION_HEAD])
