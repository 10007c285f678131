"""The language of a respondent's page. Nothing about it is stored on the server: the choice travels with the
page (a `lang` query parameter, a hidden `lang` field in each form) and is read again on every request.

In order: a switcher button just pressed (`switch_language`), the `lang` the page carries, what the server knows
of the respondent (an employee's roster language), the browser's Accept-Language, then the fallback.
"""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Request

from survey.languages import SOURCE_LANGUAGE, chosen_language, from_accept_language
from survey.web.forms import text_field

LANGUAGE_FIELD = "lang"
SWITCH_FIELD = "switch_language"
# Paths of the respondents' pages: their error pages (404, 400, 429) are in the respondent's language too.
RESPONDENT_PATHS = ("/survey", "/i/", "/c/")


def switched_language(form: Mapping[str, object]) -> str | None:
    """The language a switcher button of this form asked for, if one was pressed and is supported."""
    wanted = text_field(form, SWITCH_FIELD)
    return chosen_language(wanted, fallback="") or None


def page_language(
    request: Request,
    form: Mapping[str, object] | None = None,
    known: str | None = None,
    fallback: str = SOURCE_LANGUAGE,
    browser: bool = True,
) -> str:
    """The language to show this respondent's page in (see the module's docstring). `browser=False` skips the
    Accept-Language header: an employee's roster language comes before it, and the default after."""
    carried = text_field(form, LANGUAGE_FIELD) if form is not None else ""
    return chosen_language(
        switched_language(form) if form is not None else None,
        carried,
        request.query_params.get(LANGUAGE_FIELD),
        known,
        from_accept_language(request.headers.get("accept-language")) if browser else None,
        fallback=fallback,
    )


def with_language(path: str, request: Request, language: str, fallback: str = SOURCE_LANGUAGE) -> str:
    """`path` with the page's language as a query parameter, unless the page would choose it by itself."""
    if language == page_language(request, fallback=fallback):
        return path
    return f"{path}?{LANGUAGE_FIELD}={language}"


def is_respondent_page(request: Request) -> bool:
    return request.url.path.startswith(RESPONDENT_PATHS)
