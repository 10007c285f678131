"""Service promises in the database: the version in force for a round, a function's history, and writing a new
version (all or nothing).

Editing never changes a stored version: it adds the next one, so a round keeps showing the promises it opened
with. A round reads the newest version created before it opened; a round not yet open reads the newest.
Two heads saving at once take turns on the function's row; the unique (function, version) constraint makes
sure no two versions share a number whatever else writes, and a writer that loses that race takes the next.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from survey.db.engine import Database
from survey.db.models import (
    PromiseSet,
    Role,
    Round,
    RoundStatus,
    ServicePromise,
    ServicePromiseTranslation,
    Unit,
    User,
)
from survey.errors import Refused
from survey.languages import translated_languages
from survey.promises.rules import PromiseDraft, PromiseProblem, dimension_label, normalised, promise_problems
from survey.vocabulary import Dimension, UnitKind

SAVE_ATTEMPTS = 5  # a lost race for a version number is tried again with the next number


class NoSuchFunction(Refused):
    """The id names no active support function."""


class PromisesRefused(Refused):
    """A version that was not stored, and every problem of it."""

    def __init__(self, problems: Sequence[PromiseProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Promise:
    """A stored promise: its place in the version, dimension, English text and texts in other languages."""

    position: int
    dimension: str
    text: str
    translations: dict[str, str] = field(default_factory=dict)

    @property
    def dimension_label(self) -> str:
        return dimension_label(self.dimension)

    def text_in(self, language: str) -> str:
        """The promise in `language`, or in English where it has no text in it."""
        return self.translations.get(language, self.text)


@dataclass(frozen=True)
class PromiseVersion:
    """One version of a function's promises, when and by whom it was written."""

    function_id: int
    version: int
    created_at: datetime
    created_by: str | None
    promises: tuple[Promise, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "version": self.version,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "promises": [
                {"dimension": p.dimension, "text": p.text, "translations": dict(p.translations)}
                for p in self.promises
            ],
        }


def may_write_promises(user: User) -> bool:
    """HR and heads write a function's promises (a head only of a function they see: the caller checks the unit);
    executives only read them."""
    return user.role in (Role.HR, Role.HEAD)


# --- Reading --------------------------------------------------------------------------------------------------


def support_function(session: Session, function_id: int) -> Unit:
    """The active support function with this id. Raises NoSuchFunction."""
    unit = session.get(Unit, function_id)
    if unit is None or not unit.active or unit.kind != UnitKind.SUPPORT:
        raise NoSuchFunction(f"no support function with id {function_id}")
    return unit


def function_by_code(session: Session, code: str) -> Unit:
    """The active support function with this code. Raises NoSuchFunction."""
    unit = session.exec(select(Unit).where(Unit.code == code.strip())).first()
    if unit is None or not unit.active or unit.kind != UnitKind.SUPPORT:
        raise NoSuchFunction(f"no support function with code {code.strip()[:40]!r}")
    return unit


def history(session: Session, function_id: int) -> list[PromiseVersion]:
    """Every version of a function's promises, the newest first."""
    sets = session.exec(
        select(PromiseSet)
        .where(PromiseSet.function_id == function_id)
        .order_by(col(PromiseSet.version).desc())
    ).all()
    return _versions(session, sets)


def current(session: Session, function_id: int) -> PromiseVersion | None:
    """The newest version of a function's promises, or None when it has written none."""
    newest = history(session, function_id)
    return newest[0] if newest else None


def in_force(session: Session, a_round: Round, function_ids: Iterable[int]) -> dict[int, PromiseVersion]:
    """The version each function's promises had for `a_round`: the newest created before it opened (the newest
    of all while it is scheduled). A function with none then is left out."""
    ids = list(function_ids)
    if not ids:
        return {}
    newest = (
        select(PromiseSet.function_id, func.max(PromiseSet.version).label("version"))
        .where(col(PromiseSet.function_id).in_(ids))
        .group_by(col(PromiseSet.function_id))
    )
    if a_round.status != RoundStatus.SCHEDULED:
        newest = newest.where(col(PromiseSet.created_at) < a_round.opens_at)
    latest = newest.subquery()
    sets = session.exec(
        select(PromiseSet).join(
            latest,
            (col(PromiseSet.function_id) == latest.c.function_id)
            & (col(PromiseSet.version) == latest.c.version),
        )
    ).all()
    return {version.function_id: version for version in _versions(session, sets)}


def _versions(session: Session, sets: Sequence[PromiseSet]) -> list[PromiseVersion]:
    set_ids = [s.id for s in sets]
    promises: dict[int, list[ServicePromise]] = {}
    texts: dict[int, dict[str, str]] = {}
    if set_ids:
        for promise in session.exec(
            select(ServicePromise)
            .where(col(ServicePromise.set_id).in_(set_ids))
            .order_by(col(ServicePromise.position))
        ):
            promises.setdefault(promise.set_id, []).append(promise)
        promise_ids = [p.id for found in promises.values() for p in found]
        for translation in session.exec(
            select(ServicePromiseTranslation).where(
                col(ServicePromiseTranslation.promise_id).in_(promise_ids)
            )
        ):
            texts.setdefault(translation.promise_id, {})[translation.language] = translation.text
    authors = _names(session, {s.created_by_id for s in sets if s.created_by_id})
    return [
        PromiseVersion(
            function_id=s.function_id,
            version=s.version,
            created_at=s.created_at,
            created_by=authors.get(s.created_by_id) if s.created_by_id else None,
            promises=tuple(
                Promise(p.position, p.dimension, p.text, texts.get(p.id, {})) for p in promises.get(s.id, [])
            ),
        )
        for s in sets
    ]


def _names(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    return dict(session.exec(select(User.id, User.name).where(col(User.id).in_(user_ids))).all())


# --- Writing --------------------------------------------------------------------------------------------------


def save(
    db: Database, function_id: int, drafts: Sequence[PromiseDraft], author_id: int | None = None
) -> PromiseVersion:
    """Store `drafts` as the function's next version, whole or not at all. Raises NoSuchFunction, or
    PromisesRefused naming every problem (nothing is stored then)."""
    cleaned = normalised(drafts)
    problems = promise_problems(cleaned, translated_languages())
    with db.session() as session:
        support_function(session, function_id)
    if problems:
        raise PromisesRefused(problems)
    attempts = 0
    while True:
        try:
            with db.write_session() as session:
                return _write(session, function_id, cleaned, author_id)
        except IntegrityError:  # another version took the number meanwhile: take the next
            attempts += 1
            if attempts >= SAVE_ATTEMPTS:
                raise


def _write(
    session: Session, function_id: int, drafts: Sequence[PromiseDraft], author_id: int | None
) -> PromiseVersion:
    # The function's row is locked for the transaction (on PostgreSQL; SQLite has one writer at a time), so
    # heads saving at once take their turns; the unique constraint stays the guard if anything else writes.
    session.exec(select(Unit.id).where(Unit.id == function_id).with_for_update()).one()
    last = session.exec(
        select(func.max(PromiseSet.version)).where(PromiseSet.function_id == function_id)
    ).one()
    promise_set = PromiseSet(function_id=function_id, version=(last or 0) + 1, created_by_id=author_id)
    session.add(promise_set)
    session.flush()
    for position, draft in enumerate(drafts, start=1):
        promise = ServicePromise(
            set_id=promise_set.id, position=position, dimension=Dimension(draft.dimension), text=draft.text
        )
        session.add(promise)
        session.flush()
        session.add_all(
            ServicePromiseTranslation(promise_id=promise.id, language=code, text=text)
            for code, text in draft.translations.items()
        )
    session.flush()
    return _versions(session, [promise_set])[0]
