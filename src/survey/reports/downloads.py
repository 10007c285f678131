"""A report as an HTTP download, for the pages and the API alike: its PDF from the folder of kept reports or
rendered now, under a file name safe on every system; and a round's Excel workbook of what some of its reports
show."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from litestar import Response
from litestar.exceptions import NotFoundException

from survey.analysis import analytics
from survey.db.engine import Database
from survey.db.models import Round
from survey.reports import exports, work
from survey.reports.catalogue import ReportRef
from survey.reports.data import RoundData, round_data
from survey.reports.render import cached_pdf, context_key, render_pdf, report_context
from survey.settings import Settings
from survey.web.errors import Conflict


def pdf_response(pdf: bytes, ref: ReportRef, round_name: str) -> Response:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{round_name}-{ref.filename}")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def report_pdf(db: Database, settings: Settings, ref: ReportRef) -> bytes:
    """A report's PDF: from the reports folder when one is set and holds it for the same data, else rendered
    now (and kept there); without a folder, as the work at publish kept it in the database for the same data,
    else rendered now. The round's results are read as stored: before they are, a 409 says why."""
    context = report_context(released_data(db, ref.round_id, settings), ref)
    if settings.reports_dir:
        return cached_pdf(context, ref, Path(settings.reports_dir))
    return work.kept_pdf(db, ref, context_key(context)) or render_pdf(context)


def released_data(db: Database, round_id: int, settings: Settings) -> RoundData:
    """What a round's reports read: 409 while its results (or the earlier rounds' it shows trends of) are being
    computed, 404 for a round not closed."""
    try:
        return round_data(db, round_id, settings)
    except analytics.NotReady as reason:
        raise Conflict(
            f"This report is made from the round's results, which are not ready. {reason}"
        ) from None
    except analytics.NotReleased:
        raise NotFoundException() from None


def workbook_response(
    db: Database, settings: Settings, a_round: Round, refs: Sequence[ReportRef], made_for: str
) -> Response:
    """The Excel workbook of what the reports `refs` of a round show, as an attachment named after the round
    (and the unit, for one report's); 409 and 404 as `released_data`."""
    data = released_data(db, a_round.id, settings)
    unit_code = refs[0].code if len(refs) == 1 else None
    name = exports.workbook_filename(a_round.name, unit_code)
    return Response(
        exports.round_workbook(data, a_round, refs, made_for),
        media_type=exports.MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
