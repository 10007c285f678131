"""A questionnaire version's wording in other languages on the JSON API: the translation sheet to download, and
the filled-in sheet to upload (the same XLSX or CSV file as on HR's page).

An upload with problems answers 422 listing every one (file, row, column, message); one refused because a round
using the version is open answers 409. Nothing is changed then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypedDict

from litestar import Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, ServiceUnavailableException
from litestar.openapi import ResponseSpec
from litestar.params import Body, FromPath
from sqlalchemy.exc import SQLAlchemyError

from survey.imports.uploads import UPLOAD_LIMITS, read_uploads
from survey.web.deps import DatabaseDep, ObjectId
from survey.wording.store import WordingError, download_sheet, upload_sheet


@dataclass
class WordingUpload:
    """The filled-in translation sheet, a part named `file`."""

    file: UploadFile


class Problem(TypedDict):
    file: str
    line: int  # the row as a spreadsheet numbers it (the header is row 1); 0 for the file as a whole
    column: str
    message: str


class WordingResult(TypedDict):
    """What an upload did: the languages applied and how many texts changed; or why nothing was changed."""

    ok: bool
    instrument_id: int
    file: str
    summary: str
    problems: list[Problem]
    open_rounds: list[str]  # the open rounds using the version, which froze its wording
    languages: list[str]
    changed: int


_REFUSED = ResponseSpec(
    data_container=WordingResult,
    description="Nothing was changed; `problems` says why.",
    generate_examples=False,
)


@get(
    "/instruments/{instrument_id:int}/wording/{file_format:str}",
    opt={"scope": "rounds:read"},
    sync_to_thread=True,
)
def wording_sheet(instrument_id: ObjectId, file_format: FromPath[str], db: DatabaseDep) -> Response[bytes]:
    """A questionnaire version's translation sheet as `xlsx` or `csv`: a row per text (`key`), its English (`en`)
    and a column per other language."""
    try:
        sheet = download_sheet(db, instrument_id, file_format)
    except WordingError as error:
        raise NotFoundException(str(error)) from None
    return Response(
        sheet.data,
        media_type=sheet.media_type,
        headers={"content-disposition": f'attachment; filename="{sheet.name}"'},
    )


@post(
    "/instruments/{instrument_id:int}/wording",
    opt={"scope": "rounds:write"},
    sync_to_thread=True,
    status_code=200,
    responses={409: _REFUSED, 422: _REFUSED},
    **UPLOAD_LIMITS,
)
def upload_wording(
    instrument_id: ObjectId,
    db: DatabaseDep,
    data: Annotated[WordingUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Response[WordingResult]:
    """Replace a version's wording in each language the sheet has a column for: checked whole, applied whole.
    Refused (409) while a round using the version is open."""
    try:
        report = upload_sheet(db, instrument_id, read_uploads([data.file])[0])
    except WordingError as error:
        raise NotFoundException(str(error)) from None
    except SQLAlchemyError:  # the upload's one transaction was rolled back
        raise ServiceUnavailableException(
            "the database failed during the upload; nothing was changed"
        ) from None
    status = 200 if report.ok else 409 if report.open_rounds else 422
    return Response(report.as_dict(), status_code=status)  # type: ignore[arg-type]


ROUTES = [wording_sheet, upload_wording]
