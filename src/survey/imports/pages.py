"""HR's Imports page: upload the roster (units and/or employees) or customer figures as CSV or XLSX, check
them or import them, see every problem by file, row and column, and the history of imports applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from survey.db.engine import Database
from survey.db.models import ImportRun
from survey.imports.figures import FiguresReport, import_external_figures
from survey.imports.roster import RosterReport, import_roster
from survey.imports.uploads import MAX_UPLOAD_MB, UPLOAD_LIMITS, read_uploads
from survey.settings import resource_dir
from survey.web.auth import signed_in_user
from survey.web.deps import DatabaseDep

EXAMPLES = ("units.csv", "employees.csv", "external_figures.csv")
HISTORY_SIZE = 50
IMPORTERS: dict[str, Callable[..., RosterReport | FiguresReport]] = {
    "roster": import_roster,
    "external": import_external_figures,
}
DATABASE_FAILED = "The database failed during the import, so nothing was imported. Please try again."


# --- The page ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one upload came to: the importer's report, or why there was none."""

    kind: str  # roster | external
    status_code: int
    report: RosterReport | FiguresReport | None = None
    error: str | None = None


def _history(db: Database) -> list[ImportRun]:
    with db.session() as session:
        return list(
            session.exec(
                select(ImportRun).order_by(ImportRun.at.desc(), ImportRun.id.desc()).limit(HISTORY_SIZE)
            )
        )


def _page(db: Database, outcome: Outcome | None = None) -> Template:
    return Template(
        "admin/imports.html",
        context={
            "history": _history(db),
            "outcome": outcome,
            "history_size": HISTORY_SIZE,
            "max_mb": MAX_UPLOAD_MB,
        },
        status_code=outcome.status_code if outcome else 200,
    )


def _import(db: Database, kind: str, uploads: list[UploadFile], actor: str, dry_run: bool) -> Outcome:
    if not uploads:
        what = (
            "the roster files (units and/or employees)" if kind == "roster" else "a file of customer figures"
        )
        return Outcome(kind, 400, error=f"No file was chosen: choose {what}, then check or import.")
    try:
        report = IMPORTERS[kind](db, read_uploads(uploads), actor=actor, dry_run=dry_run)
    except SQLAlchemyError:  # locked, connection lost...: the import's one transaction was rolled back
        return Outcome(kind, 503, error=DATABASE_FAILED)
    return Outcome(kind, 400 if report.problems else 200, report=report)


@get("/imports", sync_to_thread=True)
def imports_page(db: DatabaseDep) -> Template:
    return _page(db)


async def _upload(request: Request, db: Database, kind: str) -> Template:
    form = await request.form()
    uploads = [value for value in form.getall("files", []) if isinstance(value, UploadFile)]
    # Only the Import button applies an import; a form sent without it is only checked.
    dry_run = form.get("action") != "import"
    actor = signed_in_user(request).email
    return await sync_to_thread(lambda: _page(db, _import(db, kind, uploads, actor, dry_run)))


@post("/imports/roster", **UPLOAD_LIMITS)
async def upload_roster(request: Request, db: DatabaseDep) -> Template:
    """Units and/or employees files: checked together, imported only if none has a problem."""
    return await _upload(request, db, "roster")


@post("/imports/external", **UPLOAD_LIMITS)
async def upload_external_figures(request: Request, db: DatabaseDep) -> Template:
    """Customer figures (CSAT, NPS, CES) per front-line team and round."""
    return await _upload(request, db, "external")


@get("/imports/examples/{name:str}", sync_to_thread=True)
def example_file(name: FromPath[str]) -> Response:
    """One of the example files, to download and copy the format from."""
    if name not in EXAMPLES:
        raise NotFoundException()
    return Response(
        (resource_dir("examples") / name).read_bytes(),
        media_type="text/csv",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


HR_PAGES = [imports_page, upload_roster, upload_external_figures, example_file]
