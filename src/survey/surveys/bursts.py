"""Bursts of customer answers HR reviews: a team's answers in one hour of a round beyond the hourly cap are stored
but held out of every result (`intake`); HR sees each burst on the round's page and keeps it (the answers count
like any other) or discards it (the answers are deleted). The burst's row records the decision, who made it and
when; results already computed for a closed round are computed again (`analytics.result_states` reads decisions).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from survey.db.engine import Database
from survey.db.models import BurstState, CustomerBurst, ExternalResponse, Unit
from survey.errors import Refused

log = logging.getLogger(__name__)


class BurstError(Refused):
    """A burst that cannot be decided (any more); the message says why."""


@dataclass(frozen=True)
class BurstView:
    id: int
    team_name: str
    hour: datetime
    held: int
    state: BurstState
    decided_by: str | None
    decided_at: datetime | None


def round_bursts(session: Session, round_id: int) -> list[BurstView]:
    """The round's bursts, pending first, then by hour."""
    rows = session.exec(
        select(CustomerBurst, Unit.name)
        .join(Unit, col(Unit.id) == col(CustomerBurst.team_id))
        .where(CustomerBurst.round_id == round_id)
        .order_by(col(CustomerBurst.hour), col(Unit.name))
    ).all()
    views = [
        BurstView(b.id, name, b.hour, b.held, BurstState(b.state), b.decided_by, b.decided_at)
        for b, name in rows
    ]
    return sorted(views, key=lambda view: view.state != BurstState.PENDING)


def decide_burst(db: Database, burst_id: int, keep: bool, actor: str, now: datetime) -> CustomerBurst:
    """Keep (the answers count) or discard (the answers are deleted) a pending burst, in one transaction; the
    burst records how many answers it decided on. Raises LookupError for no such burst, BurstError for one
    already decided."""
    state = BurstState.KEPT if keep else BurstState.DISCARDED
    with db.write_session() as session:
        burst = session.get(CustomerBurst, burst_id)
        if burst is None:
            raise LookupError(f"no burst {burst_id}")
        # The claim is the check: a second click, or another HR user at the same time, decides nothing.
        claimed = session.exec(
            update(CustomerBurst)
            .where(col(CustomerBurst.id) == burst_id, col(CustomerBurst.state) == BurstState.PENDING)
            .values(state=state, decided_by=actor, decided_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise BurstError(f"this burst was already {burst.state}; nothing changed")
        held = col(ExternalResponse.burst_id) == burst_id
        if keep:
            changed = session.exec(
                update(ExternalResponse)
                .where(held)
                .values(burst_id=None)
                .execution_options(synchronize_session=False)
            )
        else:
            changed = session.exec(
                delete(ExternalResponse).where(held).execution_options(synchronize_session=False)
            )
        session.exec(
            update(CustomerBurst)
            .where(col(CustomerBurst.id) == burst_id)
            .values(held=changed.rowcount)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        session.refresh(burst)
    log.info("burst %s of round %s %s by %s: %s answers", burst_id, burst.round_id, state, actor, burst.held)
    return burst
