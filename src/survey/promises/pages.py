"""A support function's service promises, on its own page: the version in force, its history by version and date,
and a form that writes the next version.

HR and the function's head may write them; an executive reads them. Anyone else (a team head, a head of another
function) gets 404, as for any unit they may not see, and so does an id that is not a support function.
"""

from __future__ import annotations

from typing import Any

from babel import Locale
from litestar import Request, get, post
from litestar.concurrency import sync_to_thread
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Template
from sqlmodel import Session

from survey.accounts import users
from survey.db.engine import Database
from survey.db.models import Unit, User
from survey.languages import translated_languages
from survey.promises import store
from survey.promises.rules import (
    MAX_PROMISES,
    MAX_TEXT,
    PROMISE_DIMENSIONS,
    PromiseDraft,
    PromiseProblem,
    dimension_label,
    drafts_from_form,
    numbered_by_row,
)
from survey.web.auth import signed_in_user
from survey.web.deps import DatabaseDep, ObjectId
from survey.web.responses import see_other


def readable_function(session: Session, user: User, unit_id: int) -> Unit:
    """The support function `unit_id`, if `user` may see it. Raises NotFoundException (404) otherwise."""
    try:
        function = store.support_function(session, unit_id)
    except store.NoSuchFunction:
        raise NotFoundException() from None
    visible = users.visible_unit_ids(session, user)
    if visible is not None and function.id not in visible:
        raise NotFoundException()
    return function


def _page(
    db: Database,
    user: User,
    unit_id: int,
    posted: list[tuple[int, PromiseDraft]] | None = None,
    problems: list[PromiseProblem] | None = None,
) -> Template:
    with db.session() as session:
        function = readable_function(session, user, unit_id)
        versions = store.history(session, function.id)
    languages = translated_languages()
    if posted is not None:
        filled = dict(posted)
        rows = [_row(filled.get(n), languages) for n in range(1, MAX_PROMISES + 1)]
    else:
        shown = versions[0].promises if versions else ()
        rows = [
            _row(PromiseDraft(p.dimension, p.text, p.translations) if p else None, languages)
            for p in (*shown, *[None] * (MAX_PROMISES - len(shown)))
        ]
    return Template(
        "staff/promises.html",
        context={
            "function": function,
            "current": versions[0] if versions else None,
            "history": versions,
            "rows": rows,
            "problems": problems or [],
            "languages": [(code, Locale.parse(code).get_display_name("en")) for code in languages],
            "dimensions": [(d, dimension_label(d)) for d in PROMISE_DIMENSIONS],
            "may_write": store.may_write_promises(user),
            "max_text": MAX_TEXT,
        },
        status_code=400 if problems else 200,
    )


def _row(draft: PromiseDraft | None, languages: tuple[str, ...]) -> dict[str, Any]:
    if draft is None:
        return {"dimension": "", "text": "", "translations": dict.fromkeys(languages, "")}
    return {
        "dimension": draft.dimension,
        "text": draft.text,
        "translations": {code: draft.translations.get(code, "") for code in languages},
    }


@get("/units/{unit_id:int}/promises", sync_to_thread=True)
def promises_page(unit_id: ObjectId, request: Request, db: DatabaseDep) -> Template:
    return _page(db, signed_in_user(request), unit_id)


@post("/units/{unit_id:int}/promises")
async def save_promises(unit_id: ObjectId, request: Request, db: DatabaseDep) -> Template | Redirect:
    """Write the function's next version from the form: all of it, or nothing and every problem shown."""
    user = signed_in_user(request)
    form = await request.form()
    posted = drafts_from_form(form, translated_languages())

    def save() -> Template | Redirect:
        with db.session() as session:
            readable_function(session, user, unit_id)
        if not store.may_write_promises(user):
            raise PermissionDeniedException("only HR and the function's head may change its promises")
        try:
            store.save(db, unit_id, [draft for _, draft in posted], user.id)
        except store.PromisesRefused as refused:
            rows = [row for row, _ in posted]
            return _page(db, user, unit_id, posted, numbered_by_row(refused.problems, rows))
        return see_other(f"/units/{unit_id}/promises")

    return await sync_to_thread(save)


PAGES = [promises_page, save_promises]  # for every signed-in account: each checks the unit
