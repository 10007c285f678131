"""Reports in the browser: the list of reports a user may read, each as a PDF to download or an HTML view, and
as an Excel workbook of its figures; and a round's workbook of everything the user may see of it.

Every request is checked against the one report it names (`find_report`): a head reads the reports of
their own units and the units below them, HR and executives all; heads and executives once HR has published the
round, HR from its close. A report someone may not read answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import File, Response, Template
from sqlmodel import select

from survey.analysis import analytics
from survey.db.engine import Database
from survey.db.models import Role, Round, RoundStatus, User
from survey.reports import downloads
from survey.reports.catalogue import ReportNotFound, ReportRef, find_report, visible_reports
from survey.reports.render import ASSETS, render_html, report_context
from survey.web.auth import signed_in_user
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep

# The report a URL names: a unit's id, or "organisation" for the whole organisation's.
ReportName = Annotated[str, Parameter(max_length=20, description="a unit id, or organisation")]

ROLE_NAMES = {Role.HR: "HR", Role.HEAD: "department head", Role.EXECUTIVE: "executive"}

ASSET_FILES = re.compile(r"^(report\.css|fonts/[A-Za-z0-9-]+\.ttf)$")


@get("/reports", sync_to_thread=True)
def reports_page(request: Request, db: DatabaseDep, settings: SettingsDep) -> Template:
    user = signed_in_user(request)
    with db.session() as session:
        released = session.exec(
            select(Round)
            .where(Round.status.in_([RoundStatus.CLOSED, RoundStatus.PUBLISHED]))
            .order_by(Round.opens_at.desc())
        ).all()
        listed = [(r, visible_reports(session, user, r)) for r in released]
        states = analytics.result_states(
            session.connection(), settings.min_group_size, settings.min_comment_group_size
        )
    return Template(
        "staff/reports.html",
        context={
            "rounds": [(r, refs, states.get(r.id)) for r, refs in listed if refs],
            "user": user,
        },
    )


def _find(request: Request, db: Database, round_id: int, unit: str) -> tuple[ReportRef, str]:
    user = signed_in_user(request)
    with db.session() as session:
        try:
            ref = find_report(session, user, round_id, unit)
        except ReportNotFound:
            raise NotFoundException() from None
        return ref, session.get(Round, round_id).name


def _made_for(user: User) -> str:
    return f"{user.name} ({user.email}), {ROLE_NAMES[user.role]}"


@get("/reports/{round_id:int}/workbook.xlsx", sync_to_thread=True)
def round_workbook(round_id: ObjectId, request: Request, db: DatabaseDep, settings: SettingsDep) -> Response:
    """Everything the user may see of a round, as an Excel workbook: what the reports they may read show. A
    round with none for them answers 404, like a round that does not exist."""
    user = signed_in_user(request)
    with db.session() as session:
        a_round = session.get(Round, round_id)
        refs = visible_reports(session, user, a_round) if a_round else []
    if a_round is None or not refs:
        raise NotFoundException()
    return downloads.workbook_response(db, settings, a_round, refs, _made_for(user))


@get("/reports/{round_id:int}/{unit:str}/xlsx", sync_to_thread=True)
def report_workbook(
    round_id: ObjectId, unit: ReportName, request: Request, db: DatabaseDep, settings: SettingsDep
) -> Response:
    """What one report shows, as an Excel workbook."""
    ref, _ = _find(request, db, round_id, unit)
    with db.session() as session:
        a_round = session.get(Round, round_id)
    return downloads.workbook_response(db, settings, a_round, [ref], _made_for(signed_in_user(request)))


@get("/reports/{round_id:int}/{unit:str}/pdf", sync_to_thread=True)
def report_download(
    round_id: ObjectId, unit: ReportName, request: Request, db: DatabaseDep, settings: SettingsDep
) -> Response:
    ref, round_name = _find(request, db, round_id, unit)
    return downloads.pdf_response(downloads.report_pdf(db, settings, ref), ref, round_name)


@get("/reports/{round_id:int}/{unit:str}/html", sync_to_thread=True)
def report_view(
    round_id: ObjectId, unit: ReportName, request: Request, db: DatabaseDep, settings: SettingsDep
) -> Response:
    ref, _ = _find(request, db, round_id, unit)
    data = downloads.released_data(db, ref.round_id, settings)
    html = render_html(report_context(data, ref), "/reports/assets/report.css")
    return Response(html, media_type="text/html")  # Litestar adds "; charset=utf-8" to every text type


@get("/reports/assets/{path:path}", sync_to_thread=False)
def report_asset(path: Annotated[Path, Parameter(description="report.css or a font")]) -> File:
    """The reports' stylesheet and fonts, for their HTML view; nothing else under reports/ (not the templates)."""
    name = str(path).lstrip("/")
    if not ASSET_FILES.fullmatch(name) or not (ASSETS / name).is_file():
        raise NotFoundException()
    media_type = "text/css" if name.endswith(".css") else "font/ttf"  # Litestar adds text types' charset
    return File(path=ASSETS / name, media_type=media_type, content_disposition_type="inline")


PAGES = [
    reports_page,
    report_download,
    report_view,
    report_asset,
    round_workbook,
    report_workbook,
]  # for every signed-in account
