"""HR's Imports page: upload the roster (units and/or employees) or customer figures as CSV or XLSX, check
them or import them, see every problem by file, row and column, and the history of imports applied.

The upload plumbing here (file names, the size cap and its 413 answer) is shared with the JSON API.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException, NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath
from litestar.response import Template
from litestar.utils.scope.state import ScopeState
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from survey.db.engine import Database
from survey.db.models import ImportRun
from survey.imports.figures import FiguresReport, import_external_figures
from survey.imports.roster import RosterReport, import_roster
from survey.imports.tabular import ImportFile
from survey.settings import resource_dir
from survey.web.auth import hr_only, signed_in_user
from survey.web.deps import DatabaseDep
from survey.web.errors import http_error_page

# One upload (all its files together). A roster of 100,000 employees is about 6 MB as CSV.
MAX_UPLOAD_MB = 20
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
TOO_LARGE = (
    f"The upload is larger than {MAX_UPLOAD_MB} MB, the most one import takes. Check that you chose the right"
    " files; a very large workbook may be smaller saved as CSV UTF-8."
)
EXAMPLES = ("units.csv", "employees.csv", "external_figures.csv")
HISTORY_SIZE = 50
IMPORTERS = {"roster": import_roster, "external": import_external_figures}
DATABASE_FAILED = "The database failed during the import, so nothing was imported. Please try again."


# --- Shared with the API ----------------------------------------------------------------------------------


def _file_name(raw: str | None) -> str:
    """The name a person's computer gave the file, without any folder and without control characters."""
    name = PurePosixPath((raw or "").replace("\\", "/")).name
    return re.sub(r"[\x00-\x1f\x7f]", "", name).strip()[:100]


def read_uploads(uploads: Iterable[UploadFile]) -> list[ImportFile]:
    """Each uploaded file's bytes and name (problems point at that name); two files of one name are told
    apart by a number. Blocking: call from a thread."""
    files = []
    seen: Counter[str] = Counter()
    for number, upload in enumerate(uploads, 1):
        name = _file_name(upload.filename) or f"file {number}"
        seen[name] += 1
        if seen[name] > 1:
            name = f"{name} ({seen[name]})"
        upload.file.seek(0)
        files.append(ImportFile(name, upload.file.read()))
    return files


def upload_too_large(request: Request, _: RequestEntityTooLarge) -> Response:
    """The 413 answer of the upload routes: JSON on the API, a page that says what to do for people."""
    if request.url.path.startswith("/api"):
        return Response({"status_code": 413, "detail": TOO_LARGE}, status_code=413)
    try:  # the CSRF check reads the form before the router's guard runs: check the role here too
        hr_only(request, request.route_handler)
    except HTTPException as refused:
        return http_error_page(request, refused)
    # The CSRF check stopped reading the form before it found the token: give this page's own forms (Log out)
    # the token the cookie holds, as a GET page would.
    config = request.app.csrf_config
    if config and config.cookie_name in request.cookies:
        ScopeState.from_scope(request.scope).csrf_token = request.cookies[config.cookie_name]
    return Template("admin/upload_too_large.html", context={"message": TOO_LARGE}, status_code=413)


UPLOAD_LIMITS = {
    "request_max_body_size": MAX_UPLOAD_BYTES,
    "exception_handlers": {RequestEntityTooLarge: upload_too_large},
}


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
