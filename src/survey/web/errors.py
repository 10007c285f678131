"""Error pages: every HTTP error as a page that says what went wrong (or JSON for API clients), never a
traceback."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
)
from litestar.exceptions.http_exceptions import NotFoundException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_409_CONFLICT, HTTP_500_INTERNAL_SERVER_ERROR

from survey.languages import Message
from survey.web.respondents import is_respondent_page, page_language
from survey.web.security import redact

log = logging.getLogger("survey")


class Conflict(ClientException):
    """409: the request is sound but the object's state refuses it (a round not closed yet, say)."""

    status_code = HTTP_409_CONFLICT


# Respondents see these in their language (their pages' errors are rendered with one); everyone else in English.
GENERIC_MESSAGES = {
    400: Message("The request could not be read."),
    401: Message("Please log in first."),
    403: Message("You may not do that."),
    404: Message("There is no page at this address."),
    405: Message("This page does not accept that kind of request."),
    429: Message("Too many requests from your connection. Please wait a minute and try again."),
}
FORM_EXPIRED = Message(
    "This form has expired or was not sent from this site. Please reload the page and try again."
)


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") or request.method == "POST"


def http_error_page(request: Request, error: HTTPException) -> Response:
    """Every HTTP error as a page that says what went wrong (or JSON for API clients), never a traceback."""
    status = error.status_code
    message: str = GENERIC_MESSAGES.get(status, Message("Something went wrong with this request."))
    says_more_than_status = error.detail and error.detail != HTTPStatus(status).phrase
    if says_more_than_status and not isinstance(error, (NotFoundException, NotAuthorizedException)):
        message = _readable_detail(error)
    headers = getattr(error, "headers", None) or {}
    is_api = request.url.path.startswith("/api")
    if status == 401 and not is_api and request.method == "GET":
        expired = isinstance(error.extra, dict) and error.extra.get("expired")
        return Redirect(
            f"/login?next={quote(request.url.path)}" + ("&expired=1" if expired else ""),
            status_code=HTTP_303_SEE_OTHER,
        )
    if not _wants_html(request) or is_api:
        return Response({"status_code": status, "detail": str(message)}, status_code=status, headers=headers)
    return Template(
        "error.html", context=_error_context(request, status, message), status_code=status, headers=headers
    )


def _error_context(request: Request, status: int, message: str) -> dict[str, Any]:
    """An error page's context; on a respondent's page, with the language it is shown in."""
    context: dict[str, Any] = {"status": status, "message": message}
    if is_respondent_page(request):
        context["language"] = page_language(request)
    return context


def _readable_detail(error: HTTPException) -> str:
    detail = error.detail if isinstance(error.detail, Message) else str(error.detail)
    if isinstance(error, PermissionDeniedException) and "CSRF" in detail:
        return FORM_EXPIRED
    extra = getattr(error, "extra", None)
    if isinstance(extra, list) and extra:
        reasons = "; ".join(
            f"{e.get('key', 'body')}: {e.get('message', '')}" for e in extra if isinstance(e, dict)
        )
        return f"{detail} ({reasons})" if reasons else detail
    return detail


def unreadable_request_page(request: Request, error: UnicodeDecodeError) -> Response:
    """A form or body that is not UTF-8 text (Litestar's form parser raises before any handler runs)."""
    return http_error_page(
        request, ClientException(Message("The form could not be read: it is not valid UTF-8 text."))
    )


def server_error_page(request: Request, error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, redact(request.url.path), exc_info=error)
    context = _error_context(request, 500, Message("Something went wrong on our side. Please try again."))
    if not _wants_html(request) or request.url.path.startswith("/api"):
        return Response(
            {"status_code": 500, "detail": str(context["message"])},
            status_code=HTTP_500_INTERNAL_SERVER_ERROR,
        )
    return Template("error.html", context=context, status_code=HTTP_500_INTERNAL_SERVER_ERROR)
