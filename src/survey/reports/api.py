"""A published round's reports on the JSON API (scope reports:read): the list, and each as a PDF. A round not
published yet answers 409. And a closed round's Excel workbook (scope results:read, like the results it holds)."""

from __future__ import annotations

from dataclasses import dataclass, field

from litestar import Request, Response, get
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Parameter
from sqlmodel import Session

from survey.analysis import analytics
from survey.db.models import Round, RoundStatus
from survey.reports import downloads
from survey.reports.catalogue import ReportNotFound, ReportRef, report_by_code, round_reports
from survey.web.auth import ApiClient
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep
from survey.web.errors import Conflict
from survey.web.responses import get_or_404

# --- Reports ----------------------------------------------------------------------------------------------------


@dataclass
class ReportOut:
    kind: str = field(metadata={"description": "function, team or organisation (executive or regional)"})
    title: str
    unit_id: int | None = field(metadata={"description": "null: the whole organisation's executive report"})
    code: str | None
    name: str
    url: str = field(metadata={"description": "where to download the PDF"})


def _published_reports(session: Session, round_id: int) -> tuple[Round, list[ReportRef]]:
    a_round = get_or_404(session, Round, round_id)
    if a_round.status != RoundStatus.PUBLISHED:
        raise Conflict(
            f"round {a_round.name!r} is {a_round.status}: its reports are released when HR publishes it"
        )
    return a_round, round_reports(session, a_round)


@get("/rounds/{round_id:int}/reports", opt={"scope": "reports:read"}, sync_to_thread=True)
def list_reports(round_id: ObjectId, db: DatabaseDep) -> list[ReportOut]:
    """Every report of a published round: the executive report of the whole organisation, one per group, per
    support function and per front-line team. A round not published yet answers 409."""
    with db.session() as session:
        a_round, refs = _published_reports(session, round_id)
    return [
        ReportOut(
            ref.kind,
            ref.kind_title,
            ref.unit_id,
            ref.code,
            ref.name,
            f"/api/rounds/{a_round.id}/reports/{ref.path}",
        )
        for ref in refs
    ]


@get(
    "/rounds/{round_id:int}/reports/{unit:str}",
    opt={"scope": "reports:read"},
    sync_to_thread=True,
    response_description="the report as a PDF",
)
def download_report(
    round_id: ObjectId,
    db: DatabaseDep,
    settings: SettingsDep,
    unit: str = Parameter(
        max_length=20, description="a unit id, or organisation for the whole organisation's report"
    ),
) -> Response[bytes]:
    """One report of a published round as a PDF (A4, tagged, fonts embedded). 404: no such report in the round."""
    with db.session() as session:
        a_round, refs = _published_reports(session, round_id)
    ref = next((r for r in refs if r.path == unit), None)
    if ref is None:
        raise NotFoundException(
            f"round {a_round.name!r} has no report {unit!r}: see /api/rounds/{round_id}/reports"
        )
    return downloads.pdf_response(downloads.report_pdf(db, settings, ref), ref, a_round.name)


@get(
    "/rounds/{round_id:int}/workbook",
    opt={"scope": "results:read"},
    sync_to_thread=True,
    response_description="the workbook (.xlsx)",
)
def round_workbook(
    round_id: ObjectId,
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    unit: str | None = Parameter(
        default=None,
        max_length=40,
        description="a support function's, front-line team's or group's code: only what its report shows. "
        "Default: the whole round",
    ),
) -> Response[bytes]:
    """A closed round's released results as an Excel workbook (.xlsx): a "Read me" sheet, then one sheet per
    table (functions by dimension, functions by team, customers by team, drivers, findings, hotspots,
    participation, comments), numbers as numbers with their n, every figure the release gate hides marked
    "hidden". An open round answers 409, and so does a closed round until its results are computed; a unit that
    does not exist or took no part in the round, 400 naming it."""
    with db.session() as session:
        a_round = get_or_404(session, Round, round_id)
        if a_round.status not in analytics.RELEASED:
            raise Conflict(
                f"round {a_round.name!r} is {a_round.status}: its results are released when it closes"
            )
        try:
            refs = (
                round_reports(session, a_round) if unit is None else [report_by_code(session, a_round, unit)]
            )
        except ReportNotFound as reason:  # a query naming no unit of the round: say which
            raise ClientException(f"unit: {reason}") from None
    client = request.user
    made_for = f"the API token {client.name!r}" if isinstance(client, ApiClient) else "the API"
    return downloads.workbook_response(db, settings, a_round, refs, made_for)


ROUTES = [list_reports, download_report, round_workbook]
