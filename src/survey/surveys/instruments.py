"""Questionnaire versions. A version is never edited once it exists: rounds keep the version they were created
with, so trends compare like with like. Changing the wording makes a new version, which later rounds use."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from survey.db.models import Instrument, Item, SurveyKind
from survey.errors import Refused

# What the wording of each kind must name, so the question says who is rated.
PLACEHOLDER = {SurveyKind.INTERNAL: "{function}", SurveyKind.EXTERNAL: "{team}"}


class InstrumentError(Refused):
    """A new version that cannot be made; the message says which item and why."""


def new_instrument_version(
    session: Session, source: Instrument, title: str, wording: dict[int, str]
) -> Instrument:
    """Copy `source` as the next version of its kind, with new wording for the items given (by item id). Items,
    dimensions, scales and keying stay as they are, so answers stay comparable across versions."""
    items = session.exec(select(Item).where(Item.instrument_id == source.id).order_by(Item.position)).all()
    problems = []
    for item in items:
        text = wording.get(item.id) or item.wording
        if len(text) > 500:
            problems.append(f"item {item.code}: at most 500 characters ({len(text)} given)")
        placeholder = PLACEHOLDER[SurveyKind(source.kind)]
        if placeholder in item.wording and placeholder not in text:
            problems.append(f"item {item.code}: keep {placeholder} where the name goes")
    title = title or source.title
    if len(title) > 200:
        problems.append("title: at most 200 characters")
    if problems:
        raise InstrumentError("; ".join(problems))
    if all((wording.get(i.id) or i.wording) == i.wording for i in items) and title == source.title:
        raise InstrumentError("nothing changed: edit at least one item's wording or the title")
    newest = session.exec(select(func.max(Instrument.version)).where(Instrument.kind == source.kind)).one()
    created = Instrument(kind=source.kind, version=newest + 1, title=title, introduction=source.introduction)
    session.add(created)
    session.flush()
    session.add_all(
        Item(
            instrument_id=created.id,
            position=item.position,
            code=item.code,
            dimension=item.dimension,
            wording=wording.get(item.id) or item.wording,
            scale_min=item.scale_min,
            scale_max=item.scale_max,
            low_label=item.low_label,
            high_label=item.high_label,
            reverse_keyed=item.reverse_keyed,
        )
        for item in items
    )
    session.commit()
    return created
