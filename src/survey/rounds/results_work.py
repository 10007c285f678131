"""The results of closed rounds, computed as work that one process does, whichever gets to it first: a server's
scheduler loop (`scheduler.run_scheduler`) or `survey tick`. Pages, reports and the API only read what it stored.

`plan` first fixes the group sizes of closed rounds that have none yet (closed before sizes were kept, or by a
simulated history) to today's settings, once (`lifecycle.keep_group_sizes`); every round's results are computed
under its own sizes, so a changed setting makes no work for a closed round. It then compares every closed round's
stored results with what they would read now (`analytics.result_states`): a round that has just closed has none;
customer figures imported for it, or for a round its linkage reads, change what they read; so does a new version
of the computation. For each difference it adds one piece
of work (`ResultWork`), unique per round and state, so that processes planning at once add it once.

`run` claims a piece (sets `claimed_at` where nobody holds it), computes without holding a write lock (on SQLite
that would hold up every answer for as long), renewing its claim between steps, then stores the results and
records its outcome in one short transaction, if its claim still holds. A claim not renewed for `RETRY_AFTER`
belongs to a process that stopped: the next pass takes it over, as erasing arrival order is retried. Work that
failed records why and is tried again after as long. A server that stops hands its work back.

A round's linkage carries on the findings stored with the linkage of the round before, so work is done oldest
round first, and a round's waits (handed back) while the round before's is still to be done by another process.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from survey.analysis import analytics
from survey.db.engine import Database
from survey.db.models import ReportWork, ResultWork, Round, utc_now
from survey.rounds.lifecycle import RoundError, keep_group_sizes, lock_round
from survey.settings import Settings

log = logging.getLogger(__name__)

# A claim not renewed for this long belongs to a process that stopped; failed work is tried again after as long.
RETRY_AFTER = timedelta(minutes=15)
COMPUTING = "computing"  # how the record of work under way begins
_PASSES = 3  # a pass plans again after work found the data changed under it, at most this often


@dataclass(frozen=True)
class WorkResult:
    """What one piece of results work did."""

    work_id: int
    round_id: int
    round_name: str
    reason: str
    outcome: str

    @property
    def failed(self) -> bool:
        return self.outcome.startswith(analytics.FAILED)

    def line(self) -> str:
        return f"Round {self.round_name}: results ({self.reason}): {self.outcome}."


@dataclass
class ResultsReport:
    results: list[WorkResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class LostClaim(Exception):
    """Another process took the work over (this one was too slow to renew its claim)."""


class Stopped(Exception):
    """This process is stopping: the work is handed back."""


class _Waiting(Exception):
    """The round before is still to be computed, by another process: the work is handed back until it is."""


def plan(
    db: Database, settings: Settings, now: datetime | None = None, round_ids: list[int] | None = None
) -> int:
    """Add the work that closed rounds' results need (all rounds, or those named); returns how many pieces."""
    now = now or utc_now()
    k, comment_k = settings.min_group_size, settings.min_comment_group_size
    with db.engine.connect() as connection:
        unkept = connection.execute(
            select(Round.id)
            .where(
                Round.status.in_([s.value for s in analytics.RELEASED]),
                Round.min_group_size.is_(None) | Round.min_comment_group_size.is_(None),
            )
            .limit(1)
        ).first()
    if unkept is not None:  # a write only when there is something to fix
        with db.write_session() as session:
            keep_group_sizes(session, settings, round_ids)
    with db.engine.connect() as connection:
        states = analytics.result_states(connection, k, comment_k, round_ids)
        stale = [state for state in states.values() if not state.current]
        if not stale:
            return 0
        known = {
            (round_id, key): done_at
            for round_id, key, done_at in connection.execute(
                select(ResultWork.round_id, ResultWork.key, ResultWork.done_at).where(
                    ResultWork.round_id.in_([s.wanted.round_id for s in stale]),
                    ResultWork.key.in_([s.wanted.key for s in stale]),
                )
            )
        }
    insert = sqlite_insert if db.is_sqlite else postgresql_insert
    added = 0
    with db.write() as connection:
        for state in stale:
            wanted = state.wanted
            fresh = {
                "reason": state.why,
                "due_at": now,
                "claimed_at": None,
                "claimed_by": None,
                "outcome": None,
            }
            this = (ResultWork.round_id == wanted.round_id) & (ResultWork.key == wanted.key)
            if (wanted.round_id, wanted.key) not in known:
                query = insert(ResultWork).values(round_id=wanted.round_id, key=wanted.key, **fresh)
                added += connection.execute(query.on_conflict_do_nothing()).rowcount
            elif (done_at := known[wanted.round_id, wanted.key]) is not None:
                # Done, yet the results stored do not match it: they were replaced or dropped since. Once more.
                again = update(ResultWork).where(this, ResultWork.done_at == done_at)
                added += connection.execute(again.values(done_at=None, **fresh)).rowcount
    return added


def due(db: Database, now: datetime, round_ids: list[int] | None = None) -> list[int]:
    """Ids of the work that nobody holds, the oldest round's first. Any process does any of it: a round's results
    are computed under its own group sizes, whatever the process's settings."""
    query = (
        select(ResultWork.id)
        .join(Round, Round.id == ResultWork.round_id)
        .where(
            ResultWork.done_at.is_(None),
            or_(ResultWork.claimed_at.is_(None), col(ResultWork.claimed_at) <= now - RETRY_AFTER),
        )
        .order_by(Round.opens_at, Round.id, ResultWork.due_at, ResultWork.id)
    )
    if round_ids is not None:
        query = query.where(ResultWork.round_id.in_(round_ids))
    with db.engine.connect() as connection:
        return list(connection.execute(query).scalars())


class Claim:
    """This process's claim on one piece of work (a row of `table`: results work here, report work in
    `reports.work`): taken, renewed between steps, and given up or completed, each in a short transaction that
    matches only while the claim is this process's. A claim not renewed for `retry_after` is free again."""

    def __init__(
        self,
        db: Database,
        work_id: int,
        now: datetime,
        stop: threading.Event | None,
        table: type[ResultWork] | type[ReportWork] = ResultWork,
        retry_after: timedelta = RETRY_AFTER,
    ):
        self.db, self.work_id, self.now, self.stop = db, work_id, now, stop
        self.table, self.retry_after = table, retry_after
        self.tag = f"{socket.gethostname()[:60]} pid {os.getpid()} {secrets.token_hex(4)}"
        self.started = time.monotonic()

    def at(self) -> datetime:
        """Now, on the clock the work started with (a pass may run at a given time)."""
        return self.now + timedelta(seconds=time.monotonic() - self.started)

    def _set(self, connection, **values) -> bool:
        table = self.table
        mine = (table.id == self.work_id) & (table.claimed_by == self.tag)
        query = update(table).where(mine, table.done_at.is_(None)).values(**values)
        return connection.execute(query).rowcount == 1

    def take(self) -> bool:
        table = self.table
        free = or_(table.claimed_at.is_(None), col(table.claimed_at) <= self.now - self.retry_after)
        query = (
            update(table)
            .where(table.id == self.work_id, table.done_at.is_(None), free)
            .values(claimed_at=self.now, claimed_by=self.tag, outcome=COMPUTING)
        )
        with self.db.write() as connection:
            return connection.execute(query).rowcount == 1

    def renew(self, step: str) -> None:
        """Between steps: stop if this process is stopping, else renew the claim and say what is under way."""
        if self.stop is not None and self.stop.is_set():
            raise Stopped()
        with self.db.write() as connection:
            if not self._set(connection, claimed_at=self.at(), outcome=f"{COMPUTING}: {step}"[:500]):
                raise LostClaim()

    def complete(self, **values) -> None:
        """Mark the work done with these values; raises LostClaim if the claim was lost meanwhile."""
        with self.db.write() as connection:
            if not self._set(connection, done_at=self.at(), **values):
                raise LostClaim()

    def finish(
        self, outcome: str, stored: analytics.Computed | None = None, settings: Settings | None = None
    ) -> str:
        """Record the outcome and store the results, in one transaction; raises LostClaim if the claim was lost."""
        with self.db.write_session() as session:
            round_id = session.get(self.table, self.work_id).round_id
            lock_round(session, round_id)  # on PostgreSQL, processes storing one round's results take turns
            if stored is not None and settings is not None:
                k, comment_k = settings.min_group_size, settings.min_comment_group_size
                if not analytics.store_results(session.connection(), stored, self.at(), k, comment_k):
                    outcome += "; not stored: newer results were stored meanwhile"
            if not self._set(session.connection(), done_at=self.at(), outcome=outcome[:500]):
                raise LostClaim()
        return outcome

    def fail(self, error: Exception) -> str:
        """Record a failure and keep the claim: the work is tried again after `retry_after`."""
        outcome = (
            f"{analytics.FAILED} at {self.at():%Y-%m-%d %H:%M} UTC, tried again after "
            f"{self.retry_after // timedelta(minutes=1)} minutes: {error.__class__.__name__}: {error}"
        )
        with self.db.write() as connection:
            self._set(connection, claimed_at=self.at(), outcome=outcome[:500])
        return outcome

    def hand_back(self, outcome: str) -> None:
        """Give the work up for the next pass, saying why."""
        with self.db.write() as connection:
            self._set(connection, claimed_at=None, claimed_by=None, outcome=outcome[:500])


def run(
    db: Database,
    settings: Settings,
    work_id: int,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> WorkResult | None:
    """Carry out one piece of results work, exactly once: None if another process holds it or has done it, or if
    `stop` was set while it ran (it is handed back). A failure is recorded, not raised."""
    claim = Claim(db, work_id, now or utc_now(), stop)
    if not claim.take():
        return None
    try:
        outcome = _carry_out(db, settings, claim)
    except LostClaim:
        log.warning("results work %s was taken over by another process", work_id)
        return None
    except Stopped:
        claim.hand_back("interrupted: the process stopped; the next pass computes them")
        return None
    except _Waiting as waiting:
        claim.hand_back(str(waiting))
        return None
    except Exception as error:  # one round's failure must not stop the others
        log.exception("results work %s failed", work_id)
        outcome = claim.fail(error)
    with db.engine.connect() as connection:
        round_id, name, reason = connection.execute(
            select(Round.id, Round.name, ResultWork.reason)
            .join(ResultWork, ResultWork.round_id == Round.id)
            .where(ResultWork.id == work_id)
        ).one()
    return WorkResult(work_id, round_id, name, reason, outcome)


def _carry_out(db: Database, settings: Settings, claim: Claim) -> str:
    k, comment_k = settings.min_group_size, settings.min_comment_group_size
    with db.engine.connect() as connection:
        round_id, key = connection.execute(
            select(ResultWork.round_id, ResultWork.key).where(ResultWork.id == claim.work_id)
        ).one()
        state = analytics.result_states(connection, k, comment_k, [round_id]).get(round_id)
        if state is not None and len(state.wanted.read) > 1:
            _wait_for(connection, settings, state.wanted.read[-2])
    if state is None:  # rounds do not reopen; this is only ever reached by hand
        return claim.finish("skipped: the round is not closed")
    if state.current:
        return claim.finish("nothing to do: the results were up to date")
    if state.wanted.key != key:
        plan(db, settings, claim.at(), [round_id])
        return claim.finish(
            "skipped: what the results read changed again before this ran; newer work computes them"
        )
    started = time.monotonic()
    computed = analytics.compute_results(db, state.wanted, step=claim.renew)
    seconds = time.monotonic() - started
    return claim.finish(f"computed in {seconds:.1f} s: {computed.summary}", computed, settings)


def _wait_for(connection, settings: Settings, before: int) -> None:
    """Raise _Waiting while the round before's results are not up to date and its work is still to be done (not
    failed: a round whose results cannot be computed holds back none after it)."""
    k, comment_k = settings.min_group_size, settings.min_comment_group_size
    if analytics.result_states(connection, k, comment_k, [before])[before].current:
        return
    pending = connection.execute(
        select(ResultWork.outcome).where(ResultWork.round_id == before, ResultWork.done_at.is_(None))
    ).scalars()
    if any(not (outcome or "").startswith(analytics.FAILED) for outcome in pending):
        raise _Waiting(
            "waiting: the results of the round before are computed first (their findings carry on)"
        )


def results_pass(
    db: Database,
    settings: Settings,
    now: datetime | None = None,
    stop: threading.Event | None = None,
    round_ids: list[int] | None = None,
) -> ResultsReport:
    """Plan the work closed rounds' results need, and do every piece nobody holds (of all rounds, or of those
    named). Failures are reported, not raised: the work is tried again after RETRY_AFTER."""
    start, started = now or utc_now(), time.monotonic()

    def clock() -> datetime:  # the pass's time as it goes on (it may be given: `survey tick --now`, tests)
        return start + timedelta(seconds=time.monotonic() - started)

    report = ResultsReport()
    plan(db, settings, start, round_ids)
    attempted: set[int] = set()
    for _ in range(_PASSES):
        waiting = [work for work in due(db, clock(), round_ids) if work not in attempted]
        if not waiting or (stop is not None and stop.is_set()):
            break
        for work_id in waiting:
            attempted.add(work_id)
            result = run(db, settings, work_id, clock(), stop)
            if result is not None:
                report.results.append(result)
                if result.failed:
                    report.problems.append(f"the results of round {result.round_name} {result.outcome}")
    return report


def compute_now(
    db: Database, settings: Settings, round_id: int, now: datetime | None = None
) -> ResultsReport:
    """Compute one closed round's results now, and those of the rounds before it that are not up to date (its
    linkage carries on their findings), claimed like the scheduler's work (`survey linkage --compute`, tests).
    Raises NotReleased for a round not closed, RoundError while another process is computing them."""
    k, comment_k = settings.min_group_size, settings.min_comment_group_size
    with db.engine.connect() as connection:
        a_round = analytics.released_round(connection, round_id)
        states = analytics.result_states(connection, k, comment_k)
    oldest_first = list(states)
    report = results_pass(db, settings, now, round_ids=oldest_first[: oldest_first.index(round_id) + 1])
    with db.engine.connect() as connection:
        state = analytics.result_states(connection, k, comment_k, [round_id])[round_id]
        holder = connection.execute(
            select(ResultWork.claimed_by, ResultWork.claimed_at).where(
                ResultWork.round_id == round_id,
                ResultWork.done_at.is_(None),
                ResultWork.claimed_at.is_not(None),
            )
        ).first()
    if not state.current and not report.problems and holder is not None:
        raise RoundError(
            f"the results of round {a_round.name!r} are being computed by another process ({holder.claimed_by}, "
            f"since {holder.claimed_at:%Y-%m-%d %H:%M} UTC): try again when it is done"
        )
    return report
