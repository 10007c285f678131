"""The imports on the JSON API: the roster and customer figures as multipart file uploads (the same CSV and
XLSX files HR uploads on the Imports page), and the customer figures imported so far.

An upload with problems answers 422 and lists every one (file, row, column, message); nothing is written
then. Otherwise 200 with what changed, or with `dry_run=true` what would change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypedDict

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException, ServiceUnavailableException
from litestar.openapi import ResponseSpec
from litestar.params import Body, Parameter
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from survey.db.engine import Database
from survey.db.models import ExternalFigure, Round, Unit
from survey.imports.figures import FiguresReport, import_external_figures
from survey.imports.roster import RosterReport, import_roster
from survey.imports.tabular import ImportFile
from survey.imports.uploads import MAX_UPLOAD_MB, UPLOAD_LIMITS, read_uploads
from survey.vocabulary import Metric
from survey.web.auth import ApiClient
from survey.web.deps import DatabaseDep

# --- Shapes -----------------------------------------------------------------------------------------------


@dataclass
class ImportUpload:
    """The files of one import, each a part named `files`."""

    files: list[UploadFile]


class Problem(TypedDict):
    """Something wrong in a file and where: `line` is the row as a spreadsheet numbers it (the header is row
    1; 0 for the file as a whole), `column` the column's name ("" for the whole row or file)."""

    file: str
    line: int
    column: str
    message: str


class RecordChanges(TypedDict):
    created: int
    updated: int
    deactivated: int
    reactivated: int
    unchanged: int


class HeadChanges(TypedDict):
    accounts_created: int
    links_added: int
    links_removed: int


class RosterImport(TypedDict):
    """What a roster import did, or with dry_run what it would do. units, employees or heads are null when the
    import had no file for them (heads: no units file, or one without a head_email column)."""

    ok: bool
    applied: bool
    dry_run: bool
    files: list[str]
    summary: str
    problems: list[Problem]
    units: RecordChanges | None
    employees: RecordChanges | None
    heads: HeadChanges | None
    notes: list[str]
    access_changes: list[str]  # what changes which head sees which unit: needs the accounts:write scope
    import_run_id: int | None


class FiguresImport(TypedDict):
    """What an import of customer figures did, or with dry_run what it would do."""

    ok: bool
    applied: bool
    dry_run: bool
    files: list[str]
    summary: str
    problems: list[Problem]
    created: int
    replaced: int
    unchanged: int
    import_run_id: int | None


@dataclass
class ImportRefused:
    """The files have problems, all listed; nothing was imported."""

    status_code: int
    detail: str
    problems: list[Problem]


@dataclass
class ErrorOut:
    status_code: int
    detail: str


@dataclass
class ExternalFigureOut:
    team_code: str
    round_id: int
    round_name: str
    metric: Metric
    n: int
    mean: float | None
    score: float | None  # CSAT% (0 to 100) or NPS (-100 to 100); CES has none
    distribution: dict[str, int] | None  # answers per scale point
    source: str  # the file it came from
    imported_at: datetime


# --- Routes -----------------------------------------------------------------------------------------------

_FILES = Body(
    media_type=RequestEncodingType.MULTI_PART,
    title="Files",
    description="The CSV or XLSX files, each a part named `files` (examples/README.md has the formats).",
)
_DRY_RUN = Parameter(default=False, description="Check the files and count what would change; write nothing.")
_RESPONSES = {
    422: ResponseSpec(
        data_container=ImportRefused,
        description="The files have problems, all listed; nothing was imported.",
        generate_examples=False,
    ),
    413: ResponseSpec(
        data_container=ErrorOut,
        description=f"The upload is larger than {MAX_UPLOAD_MB} MB.",
        generate_examples=False,
    ),
}


ACCESS_SCOPE = "accounts:write"
_LISTED_CHANGES = 20  # the 403's detail names this many changes, then counts the rest


def _answer(
    importer, db: Database, files: list[ImportFile], request: Request, dry_run: bool, **options
) -> Response:
    client: ApiClient = request.user  # the router's guard let only API tokens through
    try:
        report: RosterReport | FiguresReport = importer(
            db, files, actor=f"api token {client.name}", dry_run=dry_run, **options
        )
    except SQLAlchemyError:  # the import's one transaction was rolled back
        raise ServiceUnavailableException(
            "the database failed during the import; nothing was imported"
        ) from None
    if report.problems:
        problems = [problem.as_dict() for problem in report.problems]
        return Response(ImportRefused(422, report.summary(), problems), status_code=422)
    if isinstance(report, RosterReport) and report.access_refused:
        raise PermissionDeniedException(_access_refusal(report.access_changes))
    return Response(report.as_dict(), status_code=200)


def _access_refusal(changes: tuple[str, ...]) -> str:
    listed = "; ".join(f"{change}: needs {ACCESS_SCOPE}" for change in changes[:_LISTED_CHANGES])
    more = len(changes) - _LISTED_CHANGES
    return (
        f"this import changes which head sees which unit, which needs a token with the {ACCESS_SCOPE} scope as"
        f" well as roster:write; nothing was imported: {listed}" + (f"; and {more} more" if more > 0 else "")
    )


@post(
    "/roster",
    opt={"scope": "roster:write"},
    sync_to_thread=True,
    status_code=200,
    responses=_RESPONSES,
    **UPLOAD_LIMITS,
)
def upload_roster(
    request: Request,
    db: DatabaseDep,
    data: Annotated[ImportUpload, _FILES],
    dry_run: bool = _DRY_RUN,
) -> Response[RosterImport]:
    """Import units and/or employees (one file of each at most, told apart by their header), checked together.
    Each file is the whole list: units and employees it leaves out are deactivated, never deleted.

    What decides who may see which unit's pages and reports needs the `accounts:write` scope as well: a
    `head_email` column, a unit's changed `parent_code`, a unit left out (deactivated). Without it such an
    import answers 403 naming each change, and nothing is imported; a dry run answers 200 and lists them in
    `access_changes`."""
    client: ApiClient = request.user
    allowed = ACCESS_SCOPE in client.scopes
    return _answer(import_roster, db, read_uploads(data.files), request, dry_run, may_change_access=allowed)


@post(
    "/external-figures",
    opt={"scope": "external:write"},
    sync_to_thread=True,
    status_code=200,
    responses=_RESPONSES,
    **UPLOAD_LIMITS,
)
def upload_external_figures(
    request: Request,
    db: DatabaseDep,
    data: Annotated[ImportUpload, _FILES],
    dry_run: bool = _DRY_RUN,
) -> Response[FiguresImport]:
    """Import customer figures (CSAT, NPS, CES) per front-line team and round. A figure for the same team,
    round and metric replaces the stored one; figures not in the files stay."""
    return _answer(import_external_figures, db, read_uploads(data.files), request, dry_run)


@get("/external-figures", opt={"scope": "external:read"}, sync_to_thread=True)
def list_external_figures(
    db: DatabaseDep,
    round_id: int | None = Parameter(
        default=None, ge=1, le=2_147_483_647, description="Only this round's figures."
    ),
    limit: int = Parameter(default=500, ge=1, le=5000),
    offset: int = Parameter(default=0, ge=0, le=10_000_000),
) -> list[ExternalFigureOut]:
    """Imported customer figures by round (oldest first), team code and metric, a page at a time."""
    statement = (
        select(ExternalFigure, Unit.code, Round.name)
        .join(Unit, Unit.id == ExternalFigure.team_id)
        .join(Round, Round.id == ExternalFigure.round_id)
        .order_by(Round.opens_at, Round.id, Unit.code, ExternalFigure.metric)
        .offset(offset)
        .limit(limit)
    )
    with db.session() as session:
        if round_id is not None:
            if session.get(Round, round_id) is None:
                raise NotFoundException(f"no round {round_id}")
            statement = statement.where(ExternalFigure.round_id == round_id)
        rows = session.exec(statement).all()
    return [
        ExternalFigureOut(
            code,
            f.round_id,
            name,
            Metric(f.metric),
            f.n,
            f.mean,
            f.score,
            f.distribution,
            f.source,
            f.imported_at,
        )
        for f, code, name in rows
    ]


ROUTES = [upload_roster, upload_external_figures, list_external_figures]
