"""Accounts of the people who administer and read the survey: HR, department heads and executives.

Users, their roles and the units a department head sees (`visible_unit_ids`); passwords hashed with argon2id.
Employees and customers never have accounts. Signing in is `sign_in`; integrations' tokens are `api_tokens`.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlmodel import Session, select

from survey.db.models import AuthSession, Role, Unit, User, UserUnit
from survey.errors import Refused

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1_000  # argon2 hashes anything, but a megabyte of password is an attack, not a password
# argon2 takes 64 MiB per check: at most this many at once per process, so a burst of logins cannot exhaust memory.
_hashing = threading.BoundedSemaphore(4)

# argon2id at argon2-cffi's defaults: RFC 9106's second recommended option (64 MiB, 3 passes, 4 lanes).
PASSWORD_HASHER = PasswordHasher()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(Refused):
    """A request about accounts that cannot be carried out; the message says why."""


def normalise_email(email: str) -> str:
    """As stored and compared: lower-case, trimmed, and without NUL (which PostgreSQL text cannot hold)."""
    return email.replace("\x00", "").strip().lower()


def check_email(email: str) -> str:
    email = normalise_email(email)
    if len(email) > 320 or not _EMAIL.match(email):
        raise AccountError(f"{email!r} is not an e-mail address")
    return email


def check_new_password(password: str, email: str) -> None:
    """Raise AccountError unless the password is acceptable for this account."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"the password may have at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip().lower() == email.lower() or password.strip().lower() == email.split("@")[0].lower():
        raise AccountError("the password must not be the e-mail address")


def hash_password(password: str) -> str:
    with _hashing:
        return PASSWORD_HASHER.hash(password)


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with weaker parameters than today's."""
    return PASSWORD_HASHER.check_needs_rehash(password_hash)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches the hash; with no hash (no such account), as slow as a real check."""
    stored = password_hash or prepare_password_checks()
    try:
        with _hashing:
            matches = PASSWORD_HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


_dummy_lock = threading.Lock()


def prepare_password_checks() -> str:
    """The hash a password is checked against when the account does not exist, made once per hasher (under a
    lock, and within the hashing limit): an unknown e-mail then takes as long as a wrong password. The server
    makes it at start-up, so that not even the first unknown e-mail takes longer."""
    with _dummy_lock, _hashing:
        return _dummy_hash(PASSWORD_HASHER)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not a password anyone has")


# --- Users ------------------------------------------------------------------------------------------------


def create_user(
    session: Session,
    email: str,
    name: str,
    role: Role,
    unit_codes: Iterable[str] = (),
    password: str | None = None,
) -> User:
    """Create an account. Heads are scoped to units (by code). Without a password, the person sets one through a
    link (see `start_password_reset`)."""
    email = check_email(email)
    name = name.strip() or email.split("@")[0]
    if len(name) > 200:
        raise AccountError("a name has at most 200 characters")
    if session.exec(select(User).where(User.email == email)).first():
        raise AccountError(f"an account for {email} exists already")
    codes = list(dict.fromkeys(c.strip() for c in unit_codes if c.strip()))
    if role == Role.HEAD and not codes:
        raise AccountError("a department head needs at least one unit (--unit CODE)")
    if role != Role.HEAD and codes:
        raise AccountError(f"only department heads are scoped to units; a {role} sees every unit")
    units = _units_by_code(session, codes)
    if password is not None:
        check_new_password(password, email)
    user = User(
        email=email, name=name, role=role, password_hash=hash_password(password) if password else None
    )
    session.add(user)
    session.flush()
    session.add_all(UserUnit(user_id=user.id, unit_id=u.id) for u in units)
    session.commit()
    return user


def _units_by_code(session: Session, codes: list[str]) -> list[Unit]:
    units = session.exec(select(Unit).where(Unit.code.in_(codes))).all() if codes else []
    missing = sorted(set(codes) - {u.code for u in units})
    if missing:
        raise AccountError(f"no unit with code {', '.join(missing)}")
    return list(units)


def set_head_units(session: Session, user: User, unit_codes: Iterable[str]) -> None:
    """Change which units a department head sees (by code; at least one). Commits."""
    if user.role != Role.HEAD:
        raise AccountError(f"only department heads are scoped to units; a {user.role} sees every unit")
    codes = list(dict.fromkeys(c.strip() for c in unit_codes if c.strip()))
    if not codes:
        raise AccountError("a department head needs at least one unit")
    units = _units_by_code(session, codes)
    session.exec(delete(UserUnit).where(UserUnit.user_id == user.id))
    session.add_all(UserUnit(user_id=user.id, unit_id=u.id) for u in units)
    session.commit()


def deactivate_user(session: Session, user: User) -> None:
    """An account that can no longer sign in; its sessions end now. Kept, never deleted."""
    user.active = False
    session.add(user)
    session.exec(delete(AuthSession).where(AuthSession.user_id == user.id))
    session.commit()


def visible_unit_ids(session: Session, user: User) -> set[int] | None:
    """The units a user may see: None means all of them (HR and executives); a head sees their units and every
    unit below them."""
    if user.role != Role.HEAD:
        return None
    return units_below(
        session, session.exec(select(UserUnit.unit_id).where(UserUnit.user_id == user.id)).all()
    )


def units_below(session: Session, roots: Iterable[int]) -> set[int]:
    """The given units and every unit below them in the organisation."""
    children: dict[int, list[int]] = {}
    for unit_id, parent_id in session.exec(select(Unit.id, Unit.parent_id)).all():
        if parent_id is not None:
            children.setdefault(parent_id, []).append(unit_id)
    found = set(roots)
    frontier = list(found)
    while frontier:
        for child in children.get(frontier.pop(), ()):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return found
