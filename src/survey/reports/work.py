"""Every report of a published round, rendered as work that any process claims report by report through the
database: a server's scheduler (in the thread that computes results) or `survey tick`. Several processes, on one
machine or several, so share one round's reports.

Publishing a round adds one piece of work (`ReportWork`) per report, in the transaction that publishes it
(`queue_round_reports`), so a retried or raced publish adds nothing twice. `reports_pass` claims each piece that
nobody holds (`results_work.Claim`, the results work's claim), renders it from the round's data (gathered once
per pass and round) and keeps the PDF where downloads look: in the reports folder when `SURVEY_REPORTS_DIR` is
set (it must then be one folder shared by every machine), else in the database, in the work's row. A claim not
done within LEASE belongs to a process that stopped: the next pass takes it over. A report whose round's results
are not computed yet waits (is handed back); one that fails says why and is tried again after the lease.

A download never waits for this work: before its report is rendered, or when the data changed since, it is
rendered on demand (`downloads.report_pdf`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from survey.analysis import analytics
from survey.db.engine import Database
from survey.db.models import ReportWork, Round, utc_now
from survey.reports.catalogue import ReportRef, round_reports
from survey.reports.data import RoundData, round_data
from survey.reports.render import cached_pdf, context_key, render_pdf, report_context
from survey.rounds.results_work import Claim, LostClaim, Stopped
from survey.settings import Settings

log = logging.getLogger(__name__)

# A report renders in about a second: a claim held this long belongs to a process that stopped. Failed work is
# tried again after as long.
LEASE = timedelta(minutes=5)
READY = "rendered"  # how the record of a rendered report begins


def queue_round_reports(session: Session, a_round: Round, now: datetime) -> int:
    """Add one piece of work per report of the round, in the caller's transaction (the one that publishes it);
    a report that has its piece already gets no second. Returns how many were added."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    rows = [
        {"round_id": a_round.id, "report": ref.path, "due_at": now} for ref in round_reports(session, a_round)
    ]
    if not rows:
        return 0
    query = insert(ReportWork).values(rows).on_conflict_do_nothing().returning(ReportWork.id)
    return len(session.connection().execute(query).all())


def due(db: Database, now: datetime, round_ids: list[int] | None = None) -> list[int]:
    """Ids of the report work nobody holds (or whose holder stopped), oldest round's first."""
    query = (
        select(ReportWork.id)
        .join(Round, Round.id == ReportWork.round_id)
        .where(
            ReportWork.done_at.is_(None),
            or_(ReportWork.claimed_at.is_(None), col(ReportWork.claimed_at) <= now - LEASE),
        )
        .order_by(Round.opens_at, Round.id, ReportWork.id)
    )
    if round_ids is not None:
        query = query.where(ReportWork.round_id.in_(round_ids))
    with db.engine.connect() as connection:
        return list(connection.execute(query).scalars())


@dataclass
class ReportsReport:
    """What a pass rendered (one line per report) and what failed."""

    rendered: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class _RoundCache:
    """A round's data and reports, gathered once per pass: every report of the round reads the same."""

    data: RoundData | None = None
    refs: dict[str, ReportRef] = field(default_factory=dict)
    waiting: str = ""  # why the round's reports wait (its results are being computed), if they do


def reports_pass(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    stop: threading.Event | None = None,
    round_ids: list[int] | None = None,
) -> ReportsReport:
    """Render every report of published rounds that nobody holds, one claim at a time, until none is left or
    `stop` is set. Failures are reported, not raised: the report is tried again after LEASE."""
    start, started = now or utc_now(), time.monotonic()
    report = ReportsReport()
    rounds: dict[int, _RoundCache] = {}
    for work_id in due(db, start, round_ids):
        if stop is not None and stop.is_set():
            break
        at = start + timedelta(seconds=time.monotonic() - started)
        line = render_work(db, settings, work_id, at, stop, rounds)
        if line is not None:
            (report.problems if line.startswith(analytics.FAILED) else report.rendered).append(line)
    return report


def render_work(
    db: Database,
    settings: Settings,
    work_id: int,
    now: datetime,
    stop: threading.Event | None = None,
    rounds: dict[int, _RoundCache] | None = None,
) -> str | None:
    """Render one report of the work, exactly once: None if another process holds it or has done it, or if it
    waits for its round's results; else a line saying what was done (or why it failed)."""
    rounds = {} if rounds is None else rounds
    with db.engine.connect() as connection:
        round_id, path = connection.execute(
            select(ReportWork.round_id, ReportWork.report).where(ReportWork.id == work_id)
        ).one()
    cache = rounds.get(round_id)
    if cache is not None and cache.waiting:
        return None  # its round's results are still being computed: not even claimed
    claim = Claim(db, work_id, now, stop, ReportWork, LEASE)
    if not claim.take():
        return None
    try:
        cache = rounds[round_id] = cache or _gather(db, settings, round_id)
        if cache.waiting:
            claim.hand_back(cache.waiting)
            return None
        ref = cache.refs[path]
        claim.renew(f"rendering the report for {ref.name}")
        assert cache.data is not None  # gathered: not waiting
        started = time.monotonic()
        context = report_context(cache.data, ref)
        key = context_key(context)
        if settings.reports_dir:  # where downloads look first, for the same key
            cached_pdf(context, ref, Path(settings.reports_dir))
            kept: dict[str, bytes] = {}
        else:
            kept = {"pdf": render_pdf(context)}
        outcome = f"{READY} in {time.monotonic() - started:.1f} s"
        claim.complete(outcome=outcome, data_key=key, **kept)
        return f"{ref.kind_title} for {ref.name}: {outcome}"
    except LostClaim:
        log.warning("report work %s was taken over by another process", work_id)
        return None
    except Stopped:
        claim.hand_back("interrupted: the process stopped; the next pass renders it")
        return None
    except Exception as error:  # one report's failure must not stop the others
        log.exception("report work %s failed", work_id)
        return f"{claim.fail(error)} (report {path} of round {round_id})"


def _gather(db: Database, settings: Settings, round_id: int) -> _RoundCache:
    """The round's data and reports; or why its reports must wait."""
    try:
        data = round_data(db, round_id, settings)
    except analytics.NotReady as reason:
        return _RoundCache(waiting=f"waiting: the round's results are computed first. {reason}"[:500])
    with db.session() as session:
        refs = round_reports(session, session.get(Round, round_id))
    return _RoundCache(data, {ref.path: ref for ref in refs})


def kept_pdf(db: Database, ref: ReportRef, key: str) -> bytes | None:
    """A report's PDF kept in the database by the work, if it shows what `key` fingerprints (the data as it is
    now); None before it is rendered, or when the data changed since."""
    with db.engine.connect() as connection:
        return connection.execute(
            select(ReportWork.pdf).where(
                ReportWork.round_id == ref.round_id,
                ReportWork.report == ref.path,
                ReportWork.data_key == key,
                ReportWork.done_at.is_not(None),
            )
        ).scalar()


@dataclass(frozen=True)
class Progress:
    """How far a published round's reports are: rendered, failed (each named with why), and all."""

    total: int
    ready: int
    failures: list[tuple[str, str]]  # (the report, why it failed)

    def line(self) -> str:
        failed = f"; {len(self.failures)} failed, tried again later" if self.failures else ""
        return f"{self.ready} of {self.total} reports ready{failed}"


def round_progress(session: Session, a_round: Round) -> Progress | None:
    """The progress of a round's report work; None for a round that has none (not published, or published
    before reports were rendered at publish)."""
    rows = session.exec(
        select(ReportWork.report, ReportWork.done_at, ReportWork.outcome).where(
            ReportWork.round_id == a_round.id
        )
    ).all()
    if not rows:
        return None
    names = {ref.path: f"{ref.kind_title}: {ref.name}" for ref in round_reports(session, a_round)}
    failures = [
        (names.get(report, report), outcome)
        for report, done_at, outcome in rows
        if done_at is None and (outcome or "").startswith(analytics.FAILED)
    ]
    return Progress(len(rows), sum(1 for _, done_at, _ in rows if done_at is not None), failures)


def progress_counts(session: Session, round_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(reports ready, reports in all) per round that has report work, in one query (the API's round objects)."""
    rows = session.exec(
        select(ReportWork.round_id, func.count(ReportWork.done_at), func.count())
        .where(ReportWork.round_id.in_(round_ids))
        .group_by(ReportWork.round_id)
    ).all()
    return {round_id: (ready, total) for round_id, ready, total in rows}
