"""Pages for department heads and executives: the units they may see, and nothing else.

A head reaches only their own units and the units below them; any other unit id answers 404, the same as an id
that does not exist, so guessing ids tells nothing. HR and executives see every unit.
"""

from __future__ import annotations

from litestar import Request, Router, get
from litestar.exceptions import NotFoundException
from litestar.response import Template
from sqlmodel import select

from survey.accounts import users as accounts
from survey.rounds import lifecycle as rounds
from survey.analysis.anonymity import participation_warning
from survey.web.auth import any_account, signed_in_user
from survey.web.deps import DatabaseDep, ObjectId, SettingsDep
from survey.db.models import Invitation, Round, Unit, UnitKind


@get("/my", sync_to_thread=True)
def my_units(request: Request, db: DatabaseDep) -> Template:
    user = signed_in_user(request)
    with db.session() as session:
        visible = accounts.visible_unit_ids(session, user)
        statement = select(Unit).where(Unit.active).order_by(Unit.kind, Unit.code)
        if visible is not None:
            statement = statement.where(Unit.id.in_(visible))
        units = session.exec(statement).all()
    return Template("staff/my.html", context={"units": units, "user": user})


@get("/units/{unit_id:int}", sync_to_thread=True)
def unit_page(unit_id: ObjectId, request: Request, db: DatabaseDep, settings: SettingsDep) -> Template:
    user = signed_in_user(request)
    k = settings.min_group_size
    with db.session() as session:
        visible = accounts.visible_unit_ids(session, user)
        unit = session.get(Unit, unit_id)
        if unit is None or (visible is not None and unit.id not in visible):
            raise NotFoundException()
        children = session.exec(select(Unit).where(Unit.parent_id == unit.id).order_by(Unit.code)).all()
        below = accounts.units_below(session, [unit.id])
        teams = set(
            session.exec(select(Unit.id).where(Unit.id.in_(below), Unit.kind == UnitKind.FRONT_LINE)).all()
        )
        participation = []
        if teams:
            invited_rounds = session.exec(
                select(Round)
                .where(Round.id.in_(select(Invitation.round_id).where(Invitation.team_id.in_(teams))))
                .order_by(Round.opens_at.desc())
            ).all()
            for a_round in invited_rounds:
                # The same counts hidden as on every other page and in the API, decided for the whole round.
                counts = rounds.team_participation(session, a_round.id)
                hidden = rounds.hidden_participation(session, counts, k)
                invited = sum(t.invited for t in counts if t.unit_id in teams)
                answered = sum(t.answered for t in counts if t.unit_id in teams)
                shown = unit.id not in hidden
                participation.append(
                    {
                        "round": a_round,
                        "invited": invited,
                        "answered": answered if shown else None,
                        "low": shown and participation_warning(answered, invited),
                    }
                )
        parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    return Template(
        "staff/unit.html",
        context={
            "unit": unit,
            "parent": parent if parent and (visible is None or parent.id in visible) else None,
            "children": children,
            "participation": participation,
            "k": k,
        },
    )


def staff_router() -> Router:
    return Router(
        path="/", guards=[any_account], include_in_schema=False, route_handlers=[my_units, unit_page]
    )
