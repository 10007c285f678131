"""Response rates: invited and answered per front-line team, group and round, as every page, report and the API
show them. Raw counts are read in the database; which of them may be shown is decided once per round over the
whole unit tree (`anonymity.hidden_counts`), so that nothing shown can be added and subtracted into a count of
fewer than k people."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, select

from survey.analysis.anonymity import TOTAL, hidden_counts, participation_warning
from survey.db.models import Invitation, Unit
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
    parents = dict(session.exec(select(Unit.id, Unit.parent_id)).all())
    above: dict[int, int | None] = {}
    for team in teams:
        node: int | None = team.unit_id
        while node is not None and node not in above:
            above[node] = parents.get(node)
            node = above[node]
    return hidden_counts(above, {t.unit_id: t.invited for t in teams}, k)


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


def participation_total(session: Session, round_id: int, k: int) -> ParticipationRow:
    """A round's invited and answered, as every page shows it: the answered count hidden where it must be."""
    teams = team_participation(session, round_id)
    total, _ = participation_view(teams, hidden_participation(session, teams, k), {})
    return total
