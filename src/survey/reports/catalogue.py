"""Which reports a round has, and who may read which: a report for the whole organisation, each group above the
round's teams, each support function and each front-line team taking part. Heads read those of their own units
and the units below them, HR and executives all; heads and executives once HR publishes the round, HR from its
close, to check them first."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session, col, select

from survey.accounts.users import visible_unit_ids
from survey.db.models import Role, Round, RoundStatus, RoundUnit, Unit, User
from survey.errors import Refused
from survey.vocabulary import UnitKind

FUNCTION, TEAM, ORGANISATION = "function", "team", "organisation"
KIND_TITLES = {
    FUNCTION: "Support function report",
    TEAM: "Front-line team report",
    ORGANISATION: "Executive report",
}
ORGANISATION_NAME = "The whole organisation"


class ReportNotFound(Refused, LookupError):
    """No such report in this round (the unit took no part, or the round has no results yet)."""


@dataclass(frozen=True)
class ReportRef:
    """One report of a round: for a unit (a support function, a front-line team or a group), or for the whole
    organisation (unit_id None)."""

    round_id: int
    unit_id: int | None
    code: str | None
    name: str
    kind: str

    @property
    def kind_title(self) -> str:
        return "Regional report" if self.kind == ORGANISATION and self.unit_id else KIND_TITLES[self.kind]

    @property
    def path(self) -> str:
        """The part of a URL after /reports/{round}/ naming this report."""
        return "organisation" if self.unit_id is None else str(self.unit_id)

    @property
    def cache_name(self) -> str:
        """The file name in a folder of kept reports: unique by the unit's id (SF02 with id 5: 5-SF02.pdf)."""
        return self.filename if self.unit_id is None else f"{self.unit_id}-{self.filename}"

    @property
    def filename(self) -> str:
        """A file name safe on every system and unique in its round: the unit's code, or "organisation"; a code
        that had to be changed to be safe gets its unit's id too."""
        if self.code is None:
            return "organisation.pdf"
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", self.code).strip("._")
        if stem != self.code or stem.lower() == "organisation":
            stem = f"{stem}-{self.unit_id}".lstrip("-")
        return f"{stem}.pdf"


# --- Which reports exist, and who may read them -------------------------------------------------------------


def round_reports(session: Session, a_round: Round) -> list[ReportRef]:
    """Every report of a round: the whole organisation, each group above its teams, each support function and
    each front-line team taking part."""
    units = {u.id: u for u in session.exec(select(Unit))}
    taking_part = [
        units[i] for i in session.exec(select(RoundUnit.unit_id).where(RoundUnit.round_id == a_round.id))
    ]
    groups: set[int] = set()
    for team in (u for u in taking_part if u.kind == UnitKind.FRONT_LINE):
        node = team.parent_id
        while node is not None and node not in groups:
            groups.add(node)
            node = units[node].parent_id

    def refs(chosen, kind):
        return [
            ReportRef(a_round.id, u.id, u.code, u.name, kind) for u in sorted(chosen, key=lambda u: u.code)
        ]

    return [
        ReportRef(a_round.id, None, None, ORGANISATION_NAME, ORGANISATION),
        *refs([units[g] for g in groups if units[g].kind == UnitKind.GROUP], ORGANISATION),
        *refs([u for u in taking_part if u.kind == UnitKind.SUPPORT], FUNCTION),
        *refs([u for u in taking_part if u.kind == UnitKind.FRONT_LINE], TEAM),
    ]


def reports_visible(a_round: Round, user: User) -> bool:
    """A round's reports are for everyone entitled once HR publishes it; HR sees them as soon as it closes, to
    check them before publishing."""
    if a_round.status == RoundStatus.PUBLISHED:
        return True
    return a_round.status == RoundStatus.CLOSED and user.role == Role.HR


def visible_reports(session: Session, user: User, a_round: Round) -> list[ReportRef]:
    """The reports of a round this user may read: HR and executives all of them, a head those of their own units
    and the units below them."""
    if not reports_visible(a_round, user):
        return []
    every = round_reports(session, a_round)
    visible = visible_unit_ids(session, user)
    if visible is None:
        return every
    return [ref for ref in every if ref.unit_id is not None and ref.unit_id in visible]


def readable_rounds(session: Session, user: User) -> list[Round]:
    """The rounds whose reports this user may read (at least one), newest first: the dashboards' round picker."""
    released = session.exec(
        select(Round)
        .where(col(Round.status).in_([RoundStatus.CLOSED, RoundStatus.PUBLISHED]))
        .order_by(col(Round.opens_at).desc())
    ).all()
    return [a_round for a_round in released if visible_reports(session, user, a_round)]


def find_report(session: Session, user: User, round_id: int, unit: str) -> ReportRef:
    """The report `unit` ("organisation" or a unit id) of a round if this user may read it; otherwise
    ReportNotFound, the same for a report that does not exist as for one that is not theirs."""
    a_round = session.get(Round, round_id)
    if a_round is None:
        raise ReportNotFound("no such round")
    for ref in visible_reports(session, user, a_round):
        if ref.path == unit:
            return ref
    raise ReportNotFound("no such report")


def report_by_code(session: Session, a_round: Round, code: str | None) -> ReportRef:
    """The report of a unit given by its code (None: the whole organisation), for the command line."""
    for ref in round_reports(session, a_round):
        if ref.code == code:
            return ref
    if code is None:
        raise ReportNotFound("no such report")
    unit = session.exec(select(Unit).where(Unit.code == code)).first()
    if unit is None:
        raise ReportNotFound(f"there is no unit with the code {code!r}")
    raise ReportNotFound(f"unit {code!r} took no part in round {a_round.name!r}")
