"""The mails a published round sends: "your results are ready" to each head and executive with an account, with
links to their dashboard and to their units' reports, and a summary to HR (response rate, how many units' results
the release gate released or withheld, a link to the round's page).

They are queued in the transaction that publishes the round, one per account and round (a unique key on the
outbox: a retried or raced publish queues none twice), and rendered when sent, like every mail: a head's mail
lists only the reports that head may read at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from survey.accounts.users import visible_unit_ids
from survey.analysis import analytics
from survey.analysis.results import Scores
from survey.db.engine import Database
from survey.db.models import MailKind, MailState, OutboxMessage, Role, Round, Unit, User, UserUnit
from survey.reports.catalogue import ORGANISATION, ReportRef, round_reports
from survey.rounds.participation import participation_total
from survey.settings import Settings

LISTED = 8  # reports named one by one in a mail; the rest are on the reports page
SUBJECTS = {
    MailKind.RESULTS_READY: "Your results from the {round} survey are ready",
    MailKind.RESULTS_SUMMARY: "{round} is published: the results in brief",
}


def queue_results_mails(session: Session, a_round: Round, now: datetime) -> int:
    """Queue, in the caller's transaction (the one that publishes the round), one "results are ready" mail for
    each active head who may read at least one of its reports and each active executive, and one summary for each
    active HR account. An account that has its mail for the round already gets no second. Returns how many."""
    refs = round_reports(session, a_round)
    rows = []
    for user in session.exec(select(User).where(User.active).order_by(User.id)):
        if user.role == Role.HEAD and not _readable(session, user, refs):
            continue
        kind = MailKind.RESULTS_SUMMARY if user.role == Role.HR else MailKind.RESULTS_READY
        rows.append(
            {
                "kind": kind,
                "recipient": user.email,
                "round_id": a_round.id,
                "user_id": user.id,
                "state": MailState.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    if not rows:
        return 0
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    query = insert(OutboxMessage).values(rows).on_conflict_do_nothing().returning(OutboxMessage.id)
    return len(session.connection().execute(query).all())


def _readable(session: Session, user: User, refs: list[ReportRef]) -> list[ReportRef]:
    """The round's reports this account may read (all of them for HR and executives)."""
    visible = visible_unit_ids(session, user)
    return refs if visible is None else [ref for ref in refs if ref.unit_id in visible]


def results_mail(
    db: Database, session: Session, settings: Settings, message: OutboxMessage
) -> tuple[str, dict[str, Any], str]:
    """A results mail's subject, its template's context, and why it should no longer be sent ("" when it
    should)."""
    a_round = session.get(Round, message.round_id)
    user = session.get(User, message.user_id)
    base = settings.base_url.rstrip("/")
    subject = SUBJECTS[MailKind(message.kind)].format(round=a_round.name)
    context: dict[str, Any] = {"name": user.name, "round": a_round.name}
    stale = "" if user.active else "the account was deactivated"
    if message.kind == MailKind.RESULTS_SUMMARY:
        return subject, {**context, **_summary(db, session, settings, a_round, base)}, stale
    refs = _readable(session, user, round_reports(session, a_round))
    if not refs and not stale:
        stale = "the account no longer heads a unit of this round"
    own = session.exec(
        select(Unit.name).join(UserUnit, UserUnit.unit_id == Unit.id).where(UserUnit.user_id == user.id)
    ).all()
    if user.role != Role.HEAD:  # executives: the organisation's and the regions' reports first
        refs = [ref for ref in refs if ref.kind == ORGANISATION] + [r for r in refs if r.kind != ORGANISATION]
    context |= {
        "whole": user.role != Role.HEAD,
        "units": _names(sorted(own)),
        "dashboard": f"{base}/my",
        "reports": [(f"{ref.kind_title}: {ref.name}", _link(base, ref)) for ref in refs[:LISTED]],
        "more": max(0, len(refs) - LISTED),
        "reports_page": f"{base}/reports",
        "link": f"{base}/my",
        "min_group_size": a_round.group_size(settings.min_group_size),
    }
    return subject, context, stale


def _link(base: str, ref: ReportRef) -> str:
    return f"{base}/reports/{ref.round_id}/{ref.path}/pdf"


def _names(names: list[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""


@dataclass(frozen=True)
class Released:
    """How many units' results the release gate released, of how many."""

    functions: int
    functions_all: int
    teams: int  # front-line teams whose staff's ratings of at least one function are released
    customers: int  # front-line teams whose customers' results are released
    teams_all: int


def released_units(scores: Scores) -> Released:
    """Count the units whose results were released: a support function whose overall score for every team
    together is shown; a team whose staff's rating of at least one function is shown; a team whose customers'
    results are shown."""
    functions = sum(
        1 for f in scores.functions if any(c.kind == "total" and not c.suppressed for c in f.cells)
    )
    teams = {c.code for f in scores.functions for c in f.cells if c.kind == "front_line" and not c.suppressed}
    all_teams = {c.code for c in scores.customers if c.kind == "front_line"} | {
        c.code for f in scores.functions for c in f.cells if c.kind == "front_line"
    }
    customers = sum(1 for c in scores.customers if c.kind == "front_line" and not c.suppressed)
    return Released(functions, len(scores.functions), len(teams), customers, len(all_teams))


def _summary(db: Database, session: Session, settings: Settings, a_round: Round, base: str) -> dict[str, Any]:
    total = participation_total(session, a_round, settings.min_group_size)
    if total.rate is None:
        rate = f"{total.invited} people were invited; the number who answered is hidden (a small group)"
    else:
        rate = f"{total.answered} of {total.invited} people answered ({100 * total.rate:.0f}%)"
    try:
        released: Released | None = released_units(
            analytics.scores(db, a_round.id, settings.min_group_size, settings.min_comment_group_size)
        )
    except analytics.NotReleased:  # the results are still being computed
        released = None
    return {
        "rate": rate,
        "low": total.low,
        "released": released,
        "k": a_round.group_size(settings.min_group_size),
        "link": f"{base}/admin/rounds/{a_round.id}",
    }
