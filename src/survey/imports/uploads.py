"""Uploaded import files, for the Imports page and the JSON API alike: their names and bytes, the size cap of
one upload and its 413 answer."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from litestar import Request, Response
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response import Template
from litestar.utils.scope.state import ScopeState

from survey.imports.tabular import ImportFile
from survey.web.auth import hr_only
from survey.web.errors import http_error_page

# One upload (all its files together). A roster of 100,000 employees is about 6 MB as CSV.
MAX_UPLOAD_MB = 20
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
TOO_LARGE = (
    f"The upload is larger than {MAX_UPLOAD_MB} MB, the most one import takes. Check that you chose the right"
    " files; a very large workbook may be smaller saved as CSV UTF-8."
)


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


UPLOAD_LIMITS: dict[str, Any] = {
    "request_max_body_size": MAX_UPLOAD_BYTES,
    "exception_handlers": {RequestEntityTooLarge: upload_too_large},
}
