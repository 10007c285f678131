"""Small answers every page handler gives: an object or 404, and a redirect after a form."""

from __future__ import annotations

from typing import TypeVar

from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlmodel import Session

T = TypeVar("T")


def get_or_404(session: Session, model: type[T], object_id: int) -> T:
    """The object with this id, or NotFoundException (404)."""
    found = session.get(model, object_id)
    if found is None:
        raise NotFoundException()
    return found


def see_other(path: str) -> Redirect:
    """Where to go after a form was handled (303, so a reload does not post it again)."""
    return Redirect(path, status_code=HTTP_303_SEE_OTHER)
