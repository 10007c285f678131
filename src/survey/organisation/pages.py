"""The organisation's pages: HR's view of the unit tree and the employees; and the units department heads and
executives may see, and nothing else.

A head reaches only their own units and the units below them; any other unit id answers 404, the same as an id
that does not exist, so guessing ids tells nothing. HR and executives see every unit.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import QueryParameter
from litestar.response import Template
from sqlalchemy import func
from sqlmodel import Session, select

from survey.accounts import users
from survey.actions import store as action_store
from survey.actions.rules import suggestions
from survey.analysis.anonymity import participation_warning
from survey.analysis.results import ActionEffect
from survey.db.engine import Database
from survey.db.models import Employee, Invitation, Role, Round, RoundStatus, Unit, User, UserUnit
from survey.organisation.posters import NoSuchTeam, TeamLink, poster_pdf, qr_svg, team_link, team_link_url
from survey.promises.store import may_write_promises
from survey.reports import downloads
from survey.reports.catalogue import (
    FUNCTION,
    ORGANISATION,
    TEAM,
    ReportNotFound,
    find_report,
    readable_rounds,
)
from survey.reports.content.heat import legend_words
from survey.reports.heat_table import NAME, OUTCOME, HeatQuery, heat_table, lowest_rows
from survey.reports.render import report_context
from survey.rounds.participation import (
    banded_participation,
    daily_snapshot,
    hidden_participation,
    team_participation,
)
from survey.settings import Settings
from survey.vocabulary import OVERALL, UnitKind
from survey.web.auth import now, signed_in_user
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep

PAGE_SIZE = 50
LOWEST_TEAMS = 10  # the teams that rate a function lowest, on its dashboard


# --- HR: the organisation and its employees -------------------------------------------------------------------


def _unit_tree(session: Session) -> list[tuple[int, Unit]]:
    """Every unit, depth first under its parent, with its depth."""
    units = session.exec(select(Unit).order_by(Unit.code)).all()
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    ordered: list[tuple[int, Unit]] = []

    def visit(parent: int | None, depth: int) -> None:
        for unit in children.get(parent, []):
            ordered.append((depth, unit))
            visit(unit.id, depth + 1)

    visit(None, 0)
    return ordered


@get("/units", sync_to_thread=True)
def units_page(db: DatabaseDep, settings: SettingsDep) -> Template:
    with db.session() as session:
        tree = _unit_tree(session)
        heads: dict[int, list[str]] = {}
        for unit_id, name in session.exec(
            select(UserUnit.unit_id, User.name).join(User, User.id == UserUnit.user_id).where(User.active)
        ):
            heads.setdefault(unit_id, []).append(name)
        staff = dict(
            session.exec(
                select(Employee.unit_id, func.count()).where(Employee.active).group_by(Employee.unit_id)
            ).all()
        )
    links = {
        unit.id: team_link_url(settings.base_url, unit.public_slug) for _, unit in tree if unit.public_slug
    }
    return Template(
        "admin/units.html", context={"tree": tree, "heads": heads, "staff": staff, "links": links}
    )


def _team_link(db: Database, settings, unit_id: int) -> TeamLink:
    """The team's link; 404 for a unit that has none to show (not a front-line team, or inactive)."""
    with db.session() as session:
        try:
            return team_link(session, settings, unit_id=unit_id)
        except NoSuchTeam as refused:
            raise NotFoundException(str(refused)) from None


@get("/units/{unit_id:int}/qr.svg", sync_to_thread=True)
def team_qr_code(unit_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> Response:
    link = _team_link(db, settings, unit_id)
    return Response(qr_svg(link.url), media_type="image/svg+xml")


@get("/units/{unit_id:int}/poster.pdf", sync_to_thread=True)
def team_poster(unit_id: ObjectId, db: DatabaseDep, settings: SettingsDep) -> Response:
    """The team's A5 poster: its name, the QR code of its link and the link written out."""
    link = _team_link(db, settings, unit_id)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"poster-{link.code}") + ".pdf"
    return Response(
        poster_pdf(link, settings),
        media_type="application/pdf",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@get("/employees", sync_to_thread=True)
def employees_page(request: Request, db: DatabaseDep) -> Template:
    query = request.query_params.get("q", "").strip()[:200]
    try:
        page = min(max(1, int(request.query_params.get("page", "1"))), 1_000_000)
    except ValueError:
        page = 1
    show_inactive = request.query_params.get("inactive") == "1"
    with db.session() as session:
        statement = select(Employee, Unit).join(Unit, Unit.id == Employee.unit_id)
        if query:
            pattern = f"%{query.lower()}%"
            statement = statement.where(
                func.lower(Employee.email).like(pattern)
                | func.lower(Employee.name).like(pattern)
                | func.lower(Unit.code).like(pattern)
            )
        if not show_inactive:
            statement = statement.where(Employee.active)
        total = session.exec(select(func.count()).select_from(statement.subquery())).one()
        rows = session.exec(
            statement.order_by(Employee.email).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        ).all()
    return Template(
        "admin/employees.html",
        context={
            "rows": rows,
            "q": query,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "total": total,
            "show_inactive": show_inactive,
        },
    )


# --- Department heads and executives ---------------------------------------------------------------------------


UNITS_LISTED = 200  # beyond this, /my lists groups and support functions; teams are found in the heat map

# The heat map's query parameters: sort by a function's code, "outcome" or "name"; filter by name and by region.
HeatSort = Annotated[str, QueryParameter(name="sort", max_length=40)]
HeatText = Annotated[str, QueryParameter(name="q", max_length=100)]
HeatRegion = Annotated[str, QueryParameter(name="region", max_length=40)]
HeatPage = Annotated[int, QueryParameter(name="page", ge=1, le=100_000)]
RoundChoice = Annotated[int | None, QueryParameter(name="round", ge=1, le=2**31 - 1)]


@get("/my", sync_to_thread=True)
def my_units(
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    round_id: RoundChoice = None,
    sort: HeatSort = NAME,
    q: HeatText = "",
    region: HeatRegion = "",
    page: HeatPage = 1,
) -> Template:
    """A head's or executive's home: the dashboard of the whole organisation (executives, HR) or of the head's
    own first unit, and the units they may open."""
    user = signed_in_user(request)
    with db.session() as session:
        visible = users.visible_unit_ids(session, user)
        statement = select(Unit).where(Unit.active).order_by(Unit.kind, Unit.code)
        if visible is not None:
            statement = statement.where(Unit.id.in_(visible))
        units = session.exec(statement).all()
        own = session.exec(
            select(Unit).join(UserUnit, UserUnit.unit_id == Unit.id).where(UserUnit.user_id == user.id)
        ).all()
    if len(units) > UNITS_LISTED:
        units = [u for u in units if u.kind != UnitKind.FRONT_LINE]
    subject = None if visible is None else min(own, key=_dashboard_order, default=None)
    query = HeatQuery(sort, q, region, page)
    dashboard = (
        _dashboard(db, settings, user, subject, round_id, query, "/my")
        if visible is None or subject is not None
        else None
    )
    return Template(
        "staff/my.html",
        context={
            "units": units,
            "user": user,
            "dashboard": dashboard,
            "teams_listed": len(units) <= UNITS_LISTED,
        },
    )


def _dashboard_order(unit: Unit) -> tuple[int, str]:
    """Which of a head's own units /my opens with: a region before a support function before a team."""
    order = {UnitKind.GROUP: 0, UnitKind.SUPPORT: 1, UnitKind.FRONT_LINE: 2}
    return order.get(UnitKind(unit.kind), 3), unit.code


@get("/units/{unit_id:int}", sync_to_thread=True)
def unit_page(
    unit_id: ObjectId,
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    round_id: RoundChoice = None,
    sort: HeatSort = NAME,
    q: HeatText = "",
    region: HeatRegion = "",
    page: HeatPage = 1,
) -> Template:
    user = signed_in_user(request)
    with db.session() as session:
        visible = users.visible_unit_ids(session, user)
        unit = session.get(Unit, unit_id)
        if unit is None or (visible is not None and unit.id not in visible):
            raise NotFoundException()
        children = session.exec(select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.code)).all()
        below = users.units_below(session, [unit.id])
        teams = set(
            session.exec(select(Unit.id).where(Unit.id.in_(below), Unit.kind == UnitKind.FRONT_LINE)).all()
        )
        invited_rounds = (
            session.exec(
                select(Round)
                .where(Round.id.in_(select(Invitation.round_id).where(Invitation.team_id.in_(teams))))
                .order_by(Round.opens_at.desc())
            ).all()
            if teams
            else []
        )
        parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    dashboard = _dashboard(
        db, settings, user, unit, round_id, HeatQuery(sort, q, region, page), f"/units/{unit.id}"
    )
    participation = [
        _participation(db, a_round, unit.id, teams, settings.min_group_size) for a_round in invited_rounds
    ]
    return Template(
        "staff/unit.html",
        context={
            "unit": unit,
            "parent": parent if parent and (visible is None or parent.id in visible) else None,
            "children": children if len(children) <= UNITS_LISTED else [],
            "participation": participation,
            "k": settings.min_group_size,
            "dashboard": dashboard,
        },
    )


def _dashboard(
    db: Database,
    settings: Settings,
    user: User,
    unit: Unit | None,
    round_id: int | None,
    query: HeatQuery,
    here: str,
) -> dict[str, Any] | None:
    """The dashboard of `unit` (None: the whole organisation) for a round: the report the PDF prints
    (`render.report_context`, from the same released data), with its heat map as a table. The latest round whose
    reports the user may read unless `round_id` names another; None when there is none; a round the user may not
    read answers 404."""
    with db.session() as session:
        rounds = readable_rounds(session, user)
        chosen = next((r for r in rounds if r.id == round_id), None) if round_id else next(iter(rounds), None)
        if round_id and chosen is None:
            raise NotFoundException()
        if chosen is None:
            return None
        path = "organisation" if unit is None else str(unit.id)
        try:
            ref = find_report(session, user, chosen.id, path)
        except ReportNotFound:
            return {"rounds": rounds, "round": chosen, "ref": None, "here": here}
        visible = users.visible_unit_ids(session, user)
        units = session.exec(select(Unit)).all()
    data = downloads.released_data(db, chosen.id, settings)
    report = report_context(data, ref)
    view: dict[str, Any] = {
        "rounds": rounds,
        "round": chosen,
        "ref": ref,
        "here": here,
        "report": report,
        "pdf": f"/reports/{chosen.id}/{ref.path}/pdf",
        "xlsx": f"/reports/{chosen.id}/{ref.path}/xlsx",
        "legend": legend_words(),
    }
    if ref.kind == ORGANISATION:
        by_id = {u.id: u for u in units}
        region_of = {
            u.code: (by_id[u.parent_id].code, by_id[u.parent_id].name)
            for u in units
            if u.kind == UnitKind.FRONT_LINE and u.parent_id in by_id
        }
        unit_ids = {u.code: u.id for u in units if visible is None or u.id in visible}
        columns = [(f.code, f.name) for f in data.scores.functions] + [(OUTCOME, report["outcome"]["label"])]
        view["heat"] = heat_table(report["heat_lines"], columns, region_of, unit_ids, query)
        if unit is None and visible is None:  # HR's and executives' dashboard of the whole
            view["action_summary"] = _action_summary(db, user, data.linkage.actions)
    elif ref.kind == FUNCTION:
        overall = data.scores.measures.index(OVERALL)
        view["lowest"] = lowest_rows(report["team_rows"], overall, LOWEST_TEAMS)
        view["promises_page"] = f"/units/{ref.unit_id}/promises"
        view["may_edit_promises"] = may_write_promises(user)
        if unit is not None and (user.role == Role.HR or (visible is not None and unit.id in visible)):
            view["plan"] = plan_links(unit.id, chosen.id, data.scores.function(unit.code), report)
    elif ref.kind == TEAM and ref.unit_id is not None:
        with db.session() as session:
            reader = action_store.reader_for(session, user)
            view["team_actions"] = action_store.team_actions(
                session, reader, ref.unit_id, data.linkage.actions, now().date()
            )
            view["requests"] = action_store.list_requests(session, reader, team_id=ref.unit_id)
    return view


def _action_summary(
    db: Database, user: User, effects: list[ActionEffect]
) -> list[action_store.FunctionSummary]:
    """Per support function: its actions open, overdue and done, and how many of those the round measured
    worked."""
    with db.session() as session:
        reader = action_store.reader_for(session, user)
        views = action_store.list_actions(session, reader, now().date())
    return action_store.function_summaries(views, effects)


def plan_links(function_id: int, round_id: int, scores: Any, report: dict[str, Any]) -> list[tuple[str, str]]:
    """ "Plan an action" beside the function's finding, hotspots and lowest dimension: each a link to the form,
    prefilled (`actions.rules.suggestions`)."""
    links = []
    for s in suggestions(scores, report.get("driver"), report.get("hotspots") or []):
        query = [("round", round_id), ("source", s.source), ("dimension", s.dimension)]
        query += [("team", team) for team in s.team_ids]
        links.append((s.about, f"/units/{function_id}/actions/new?{urlencode(query)}"))
    return links


def _participation(db: Database, a_round: Round, unit_id: int, teams: set[int], k: int) -> dict:
    """One round's participation of a unit (its front-line teams below it), as heads see it. A closed round's:
    its final counts, hidden as on every page under the round's group size. A round not closed yet: today's
    count (`participation.daily_snapshot`) in a band, never an exact count or one that moves within the day."""
    if a_round.status in (RoundStatus.CLOSED, RoundStatus.PUBLISHED):
        with db.session() as session:
            counts = team_participation(session, a_round.id)
            hidden = hidden_participation(session, counts, a_round.group_size(k))
        invited = sum(t.invited for t in counts if t.unit_id in teams)
        answered = sum(t.answered for t in counts if t.unit_id in teams)
        shown = unit_id not in hidden
        return {
            "round": a_round,
            "invited": invited,
            "answered": answered if shown else None,
            "low": shown and participation_warning(answered, invited),
        }
    snapshot = daily_snapshot(db, a_round.id, now())
    with db.session() as session:
        band = banded_participation(session, snapshot, k).get(unit_id)
    return {
        "round": a_round,
        "invited": sum(t.invited for t in snapshot.teams if t.unit_id in teams),
        "band": band,
        "counted_on": snapshot.counted_on,
        "low": band is not None and band.low_participation,
    }


HR_PAGES = [units_page, employees_page, team_qr_code, team_poster]
PAGES = [my_units, unit_page]  # for every signed-in account
