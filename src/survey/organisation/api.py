"""The organisation on the JSON API: units and employees (scope roster:read). Changes come through the roster
import (`survey.imports.api`)."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import get
from litestar.params import Parameter
from sqlmodel import select

from survey.db.models import Employee, Unit
from survey.web.deps import DatabaseDep


@dataclass
class UnitOut:
    code: str
    name: str
    kind: str
    parent_code: str | None
    active: bool


@dataclass
class EmployeeOut:
    email: str
    name: str
    unit_code: str
    active: bool


# --- Units and employees ---------------------------------------------------------------------------------------


@get("/units", opt={"scope": "roster:read"}, sync_to_thread=True)
def list_units(db: DatabaseDep) -> list[UnitOut]:
    """Every unit, active or not, with its parent's code."""
    with db.session() as session:
        units = session.exec(select(Unit).order_by(Unit.code)).all()
    codes = {u.id: u.code for u in units}
    return [UnitOut(u.code, u.name, str(u.kind), codes.get(u.parent_id), u.active) for u in units]


@get("/employees", opt={"scope": "roster:read"}, sync_to_thread=True)
def list_employees(
    db: DatabaseDep,
    limit: int = Parameter(default=500, ge=1, le=5000),
    offset: int = Parameter(default=0, ge=0, le=10_000_000),
) -> list[EmployeeOut]:
    """Employees by e-mail, a page at a time."""
    with db.session() as session:
        rows = session.exec(
            select(Employee, Unit.code)
            .join(Unit, Unit.id == Employee.unit_id)
            .order_by(Employee.email)
            .offset(offset)
            .limit(limit)
        ).all()
    return [EmployeeOut(e.email, e.name, code, e.active) for e, code in rows]


ROUTES = [list_units, list_employees]
