"""A report as an HTTP download, for the pages and the API alike: its PDF from the folder of kept reports or
rendered now, under a file name safe on every system."""

from __future__ import annotations

import re
from pathlib import Path

from litestar import Response
from litestar.exceptions import NotFoundException

from survey.analysis import analytics
from survey.db.engine import Database
from survey.reports.catalogue import ReportRef
from survey.reports.data import round_data
from survey.reports.render import cached_pdf, render_pdf, report_context
from survey.settings import Settings


def pdf_response(pdf: bytes, ref: ReportRef, round_name: str) -> Response:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{round_name}-{ref.filename}")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


def report_pdf(db: Database, settings: Settings, ref: ReportRef) -> bytes:
    """A report's PDF: from the reports folder when one is set and holds it for the same data, else rendered
    now (and kept there)."""
    try:
        data = round_data(db, ref.round_id, settings)
    except analytics.NotReleased:
        raise NotFoundException() from None
    context = report_context(data, ref)
    if settings.reports_dir:
        return cached_pdf(context, ref, Path(settings.reports_dir))
    return render_pdf(context)
