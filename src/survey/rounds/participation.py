"""Response rates: invited and answered per front-line team, group and round, as every page, report and the API
show them. Raw counts are read in the database; which of them may be shown is decided once per round over the
whole unit tree (`anonymity.hidden_counts`), so that nothing shown can be added and subtracted into a count of
fewer than k people. A closed round's are shown under the group size fixed at its close (`Round.group_size`).

HR (its pages and the API, whose tokens HR makes) sees an open round's counts exact and live: it sends the
reminders, and sees counts, never who. Heads and executives see an open round's participation only from a count
taken once a day (`daily_snapshot`), in bands (`anonymity.participation_bands`): someone who looks twice in a
day, around asking a colleague whether they have answered, sees the same thing, and no band says that nobody or
everybody in a small team answered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, select

from survey.analysis.anonymity import TOTAL, Band, hidden_counts, participation_bands, participation_warning
from survey.db.engine import Database
from survey.db.models import Invitation, ParticipationSnapshot, Round, RoundStatus, Unit
from survey.vocabulary import UnitKind


@dataclass(frozen=True)
class TeamParticipation:
    unit_id: int
    code: str
    name: str
    parent_id: int | None
    invited: int
    answered: int


def team_participation(session: Session, round_id: int) -> list[TeamParticipation]:
    """Invited and answered per front-line team of a round, counted in the database. Raw counts: pass them through
    `participation_view` before showing them to anyone."""
    rows = session.exec(
        select(
            Unit.id,
            Unit.code,
            Unit.name,
            Unit.parent_id,
            func.count(Invitation.id),
            func.count(Invitation.id).filter(Invitation.answered),
        )
        .join(Invitation, Invitation.team_id == Unit.id)
        .where(Invitation.round_id == round_id)
        .group_by(Unit.id, Unit.code, Unit.name, Unit.parent_id)
        .order_by(Unit.code)
    ).all()
    return [TeamParticipation(*row) for row in rows]


@dataclass(frozen=True)
class ParticipationRow:
    label: str
    invited: int
    answered: int | None  # None: hidden (fewer than k invited, or hidden so a hidden team cannot be derived)
    low: bool  # below the healthy share: the group's results deserve a warning

    @property
    def rate(self) -> float | None:
        return None if self.answered is None or not self.invited else self.answered / self.invited


def hidden_participation(session: Session, teams: list[TeamParticipation], k: int) -> set:
    """The units (and `TOTAL`) of a round whose answered counts may not be shown, decided once for every page and
    the API alike: teams with fewer than k invitees, and more teams or groups where a hidden count could otherwise
    be worked out from the others (see `anonymity.hidden_counts`)."""
    return hidden_counts(_tree_above(session, teams), {t.unit_id: t.invited for t in teams}, k)


def _tree_above(session: Session, teams: list[TeamParticipation]) -> dict[int, int | None]:
    """The round's teams and the groups above them, each with the group above it (None at the top)."""
    parents = dict(session.exec(select(Unit.id, Unit.parent_id)).all())
    above: dict[int, int | None] = {}
    for team in teams:
        node: int | None = team.unit_id
        while node is not None and node not in above:
            above[node] = parents.get(node)
            node = above[node]
    return above


def participation_view(
    teams: list[TeamParticipation], hidden: set, unit_names: dict[int, str]
) -> tuple[ParticipationRow, list[ParticipationRow]]:
    """The round's total and one row per team, ready to show, with the counts in `hidden` left out."""
    invited = sum(t.invited for t in teams)
    answered = sum(t.answered for t in teams)
    shown = TOTAL not in hidden
    total = ParticipationRow(
        "All teams", invited, answered if shown else None, shown and participation_warning(answered, invited)
    )
    rows = [
        ParticipationRow(
            f"{t.name} ({t.code})" + (f", {unit_names[t.parent_id]}" if t.parent_id in unit_names else ""),
            t.invited,
            None if t.unit_id in hidden else t.answered,
            t.unit_id not in hidden and participation_warning(t.answered, t.invited),
        )
        for t in teams
    ]
    return total, rows


def group_participation(
    session: Session, teams: list[TeamParticipation], hidden: set
) -> list[tuple[Unit, ParticipationRow]]:
    """Each group (region, division) above the round's teams with its row, summed over its teams, the counts in
    `hidden` left out."""
    parents = dict(session.exec(select(Unit.id, Unit.parent_id)).all())
    groups = {u.id: u for u in session.exec(select(Unit).where(Unit.kind == UnitKind.GROUP))}
    sums: dict[int, tuple[int, int]] = {}
    for team in teams:
        node = parents.get(team.unit_id)
        while node is not None:
            invited, answered = sums.get(node, (0, 0))
            sums[node] = (invited + team.invited, answered + team.answered)
            node = parents.get(node)
    return [
        (
            groups[group],
            ParticipationRow(
                f"{groups[group].name} ({groups[group].code})",
                invited,
                None if group in hidden else answered,
                group not in hidden and participation_warning(answered, invited),
            ),
        )
        for group, (invited, answered) in sorted(sums.items(), key=lambda item: groups[item[0]].code)
        if group in groups
    ]


def participation_total(session: Session, a_round: Round, k: int) -> ParticipationRow:
    """A round's invited and answered, as HR's pages show it: the answered count hidden where it must be, under
    the round's group size (`k`, today's setting, while it is open)."""
    teams = team_participation(session, a_round.id)
    total, _ = participation_view(teams, hidden_participation(session, teams, a_round.group_size(k)), {})
    return total


# --- What heads see of an open round: a count taken once a day, in bands ----------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """An open round's participation as counted once on `counted_on` (UTC), per front-line team."""

    round_id: int
    counted_on: date
    teams: list[TeamParticipation]


def daily_snapshot(db: Database, round_id: int, now: datetime) -> Snapshot:
    """The round's participation as counted today (UTC), counted now if it was not yet today: by the scheduler's
    pass (`take_daily_snapshots`) or the first page asking. Taken once a day however many processes ask: the
    write replaces only a count of an earlier day, so a second process finds today's and keeps it."""
    today = now.astimezone(UTC).date()
    with db.session() as session:
        kept = session.get(ParticipationSnapshot, round_id)
    if kept is None or kept.counted_on < today:
        with db.write_session() as writer:
            fresh = {
                "counted_on": today,
                "counted_at": now,
                "counts": [[t.unit_id, t.invited, t.answered] for t in team_participation(writer, round_id)],
            }
            if kept is None:
                insert = sqlite_insert if db.is_sqlite else postgresql_insert
                writer.exec(
                    insert(ParticipationSnapshot).values(round_id=round_id, **fresh).on_conflict_do_nothing()
                )
            else:
                writer.exec(
                    update(ParticipationSnapshot)
                    .where(
                        ParticipationSnapshot.round_id == round_id, ParticipationSnapshot.counted_on < today
                    )
                    .values(**fresh)
                )
    with db.session() as session:
        kept = session.get(ParticipationSnapshot, round_id)
        units = {u.id: u for u in session.exec(select(Unit).where(Unit.id.in_([c[0] for c in kept.counts])))}
        teams = [
            TeamParticipation(
                team, units[team].code, units[team].name, units[team].parent_id, invited, answered
            )
            for team, invited, answered in kept.counts
        ]
        return Snapshot(round_id, kept.counted_on, sorted(teams, key=lambda t: t.code))


def take_daily_snapshots(db: Database, now: datetime) -> int:
    """Count every open round's participation for the day, where it was not counted yet today (the scheduler's
    pass: so heads' counts are taken at the start of the day while the server runs). Returns how many rounds."""
    with db.session() as session:
        open_rounds = session.exec(select(Round.id).where(Round.status == RoundStatus.OPEN)).all()
    for round_id in open_rounds:
        daily_snapshot(db, round_id, now)
    return len(open_rounds)


def banded_participation(session: Session, snapshot: Snapshot, k: int) -> dict[int, Band | None]:
    """Each front-line team's and group's band in a snapshot (None: hidden): the k-rules first
    (`hidden_participation`), then more where the bands shown together would pin a count."""
    hidden = hidden_participation(session, snapshot.teams, k)
    counts = {t.unit_id: (t.invited, t.answered) for t in snapshot.teams}
    bands = participation_bands(_tree_above(session, snapshot.teams), counts, hidden)
    return {int(node): band for node, band in bands.items()}
