"""HR's home page, and the /admin router that gathers every capability's HR pages behind the HR guard.
Server-rendered, no JavaScript needed."""

from __future__ import annotations

from litestar import Router, get
from litestar.response import Template
from sqlalchemy import func
from sqlmodel import select

from survey.accounts import pages as accounts_pages
from survey.actions import pages as actions_pages
from survey.analysis import pages as analysis_pages
from survey.db.models import Employee, OutboxMessage, Round, RoundAction, RoundStatus, Unit, User
from survey.imports import pages as imports_pages
from survey.mail import pages as mail_pages
from survey.organisation import pages as organisation_pages
from survey.rounds import pages as rounds_pages
from survey.rounds.participation import participation_total
from survey.surveys import pages as surveys_pages
from survey.web.auth import hr_only
from survey.web.deps import DatabaseDep, SettingsDep
from survey.wording import pages as wording_pages


@get("/", sync_to_thread=True)
def overview(db: DatabaseDep, settings: SettingsDep) -> Template:
    with db.session() as session:
        counts = {
            "units": session.exec(select(func.count()).select_from(Unit).where(Unit.active)).one(),
            "employees": session.exec(
                select(func.count()).select_from(Employee).where(Employee.active)
            ).one(),
            "accounts": session.exec(select(func.count()).select_from(User).where(User.active)).one(),
        }
        open_rounds = [
            (r, participation_total(session, r, settings.min_group_size))
            for r in session.exec(
                select(Round).where(Round.status == RoundStatus.OPEN).order_by(Round.opens_at)
            )
        ]
        upcoming = session.exec(
            select(RoundAction, Round)
            .join(Round, Round.id == RoundAction.round_id)
            .where(RoundAction.done_at.is_(None))
            .order_by(RoundAction.due_at)
            .limit(5)
        ).all()
        mail_problems = session.exec(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.state.in_(["failed", "uncertain"]))
        ).one()
    return Template(
        "admin/overview.html",
        context={
            "counts": counts,
            "open_rounds": open_rounds,
            "upcoming": upcoming,
            "mail_problems": mail_problems,
            "k": settings.min_group_size,
        },
    )


def admin_router() -> Router:
    return Router(
        path="/admin",
        guards=[hr_only],
        include_in_schema=False,
        route_handlers=[
            overview,
            *organisation_pages.HR_PAGES,
            *surveys_pages.HR_PAGES,
            *rounds_pages.HR_PAGES,
            *mail_pages.HR_PAGES,
            *accounts_pages.HR_PAGES,
            *imports_pages.HR_PAGES,
            *analysis_pages.HR_PAGES,
            *wording_pages.HR_PAGES,
            *actions_pages.HR_PAGES,
        ],
    )
