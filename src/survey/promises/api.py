"""A support function's service promises on the JSON API: the version in force and its history (scope
`promises:read`), and writing the next version (`promises:write`), checked whole as on the function's page.

A version with problems answers 422 listing every one (promise number, field, message), and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, TypedDict

from litestar import Response, get, put
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody
from msgspec import Meta

from survey.promises import store
from survey.promises.rules import PromiseDraft
from survey.web.deps import DatabaseDep, ObjectId

ShortText = Annotated[str, Meta(max_length=2000)]


@dataclass
class PromiseIn:
    """A promise: a SERVQUAL dimension or overall, the English text, and optionally its text in other languages
    (by language code, e.g. {"de": "..."})."""

    dimension: Annotated[str, Meta(max_length=40)]
    text: ShortText
    translations: dict[Annotated[str, Meta(max_length=10)], ShortText] = field(default_factory=dict)


@dataclass
class PromisesIn:
    """The next version: 1 to 8 promises, in the order they are shown."""

    promises: Annotated[list[PromiseIn], Meta(max_length=50)]


class PromiseOut(TypedDict):
    dimension: str
    text: str
    translations: dict[str, str]


class VersionOut(TypedDict):
    version: int
    created_at: str
    created_by: str | None
    promises: list[PromiseOut]


class PromisesOut(TypedDict):
    function_code: str
    function_name: str
    current: VersionOut | None  # the newest version: what a round that opens now reads
    history: list[VersionOut]  # every version, the newest first


class Problem(TypedDict):
    promise: int  # from 1; 0 for the version as a whole
    field: str
    message: str


class Refusal(TypedDict):
    problems: list[Problem]


def _promises_of(db: DatabaseDep, function_id: int) -> PromisesOut:
    with db.session() as session:
        try:
            function = store.support_function(session, function_id)
        except store.NoSuchFunction as missing:
            raise NotFoundException(str(missing)) from None
        versions = store.history(session, function_id)
    shown: list[VersionOut] = [v.as_dict() for v in versions]  # type: ignore[misc]
    return {
        "function_code": function.code,
        "function_name": function.name,
        "current": shown[0] if shown else None,
        "history": shown,
    }


@get("/functions/{function_id:int}/promises", opt={"scope": "promises:read"}, sync_to_thread=True)
def read_promises(function_id: ObjectId, db: DatabaseDep) -> PromisesOut:
    """A support function's promises: the newest version and every earlier one."""
    return _promises_of(db, function_id)


@put(
    "/functions/{function_id:int}/promises",
    opt={"scope": "promises:write"},
    sync_to_thread=True,
    status_code=200,
    responses={422: ResponseSpec(Refusal, description="The version's problems; nothing was stored.")},
)
def write_promises(
    function_id: ObjectId, data: JSONBody[PromisesIn], db: DatabaseDep
) -> Response[PromisesOut]:
    """Store the function's next version, whole or not at all."""
    drafts = [PromiseDraft(p.dimension, p.text, dict(p.translations)) for p in data.promises]
    try:
        store.save(db, function_id, drafts)
    except store.NoSuchFunction as missing:
        raise NotFoundException(str(missing)) from None
    except store.PromisesRefused as refused:
        body = {"problems": [p.as_dict() for p in refused.problems]}
        return Response(body, status_code=422)  # type: ignore[arg-type]
    return Response(_promises_of(db, function_id))


ROUTES = [read_promises, write_promises]
