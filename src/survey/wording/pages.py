"""HR's page for a questionnaire version's wording in other languages: download the translation sheet (XLSX or
CSV), upload it filled in, see every problem by row and column."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from survey.db.engine import Database
from survey.db.models import Instrument, InstrumentTranslation, Round, RoundStatus
from survey.imports.uploads import MAX_UPLOAD_MB, UPLOAD_LIMITS, read_uploads
from survey.languages import LANGUAGE_NAMES, translated_languages
from survey.web.deps import DatabaseDep, ObjectId
from survey.web.responses import get_or_404
from survey.wording.store import WordingError, WordingReport, download_sheet, upload_sheet

DATABASE_FAILED = "The database failed during the upload, so nothing was changed. Please try again."


def _page(
    db: Database,
    instrument_id: int,
    report: WordingReport | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    with db.session() as session:
        instrument = get_or_404(session, Instrument, instrument_id)
        translated = set(
            session.exec(
                select(InstrumentTranslation.language).where(
                    InstrumentTranslation.instrument_id == instrument_id
                )
            )
        )
        rounds = session.exec(
            select(Round.name, Round.status).where(
                (Round.internal_instrument_id == instrument_id)
                | (Round.external_instrument_id == instrument_id)
            )
        ).all()
    if report is not None and not report.ok:
        status_code = 409 if report.open_rounds else 400
    return Template(
        "admin/wording.html",
        context={
            "instrument": instrument,
            "languages": [
                (code, LANGUAGE_NAMES[code], code in translated) for code in translated_languages()
            ],
            "open_rounds": [name for name, status in rounds if status == RoundStatus.OPEN],
            "report": report,
            "error": error,
            "max_mb": MAX_UPLOAD_MB,
        },
        status_code=status_code,
    )


@get("/instruments/{instrument_id:int}/wording", sync_to_thread=True)
def wording_page(instrument_id: ObjectId, db: DatabaseDep) -> Template:
    return _page(db, instrument_id)


@get("/instruments/{instrument_id:int}/wording/{file_format:str}", sync_to_thread=True)
def wording_sheet(instrument_id: ObjectId, file_format: FromPath[str], db: DatabaseDep) -> Response:
    """The translation sheet to fill in: a row per text, the English and a column per other language."""
    try:
        sheet = download_sheet(db, instrument_id, file_format)
    except WordingError:
        raise NotFoundException() from None
    return Response(
        sheet.data,
        media_type=sheet.media_type,
        headers={"content-disposition": f'attachment; filename="{sheet.name}"'},
    )


@post("/instruments/{instrument_id:int}/wording", **UPLOAD_LIMITS)
async def upload_wording(instrument_id: ObjectId, request: Request, db: DatabaseDep) -> Template:
    """A filled-in sheet: checked whole, applied whole, refused while a round using the version is open."""
    form = await request.form()
    uploads = [value for value in form.getall("file", []) if isinstance(value, UploadFile)]
    if len(uploads) != 1:
        return await sync_to_thread(
            _page, db, instrument_id, None, "Choose one filled-in sheet, then upload it.", 400
        )

    def upload() -> Template:
        with db.session() as session:
            get_or_404(session, Instrument, instrument_id)
        try:
            report = upload_sheet(db, instrument_id, read_uploads(uploads)[0])
        except SQLAlchemyError:  # the upload's one transaction was rolled back
            return _page(db, instrument_id, error=DATABASE_FAILED, status_code=503)
        return _page(db, instrument_id, report)

    return await sync_to_thread(upload)


HR_PAGES = [wording_page, wording_sheet, upload_wording]
