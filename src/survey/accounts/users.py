"""Accounts of the people who administer and read the survey: HR, department heads and executives.

Passwords are hashed with argon2id. A signed-in browser holds a random session token; the database keeps its hash,
so a copy of the database signs no one in. Failed logins are counted per account and per client in the database,
so every server process throttles the same guesses. Employees and customers never have accounts.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from survey.mail.outbox import queue_password_reset
from survey.db.models import (
    ApiToken,
    AuthSession,
    LoginFailure,
    PasswordReset,
    Role,
    Unit,
    User,
    UserUnit,
)
from survey.settings import Settings
from survey.tokens import new_token, password_reset_token, token_hash

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1_000  # argon2 hashes anything, but a megabyte of password is an attack, not a password
THROTTLE_WINDOW = timedelta(minutes=15)
# Failed logins within the window, after which logins are refused until it passes: for one account from one
# client (a guesser), for one account from anywhere (a spread-out guesser; high, so that strangers cannot lock an
# account out easily), and from one client across accounts.
MAX_FAILURES_PER_ACCOUNT_AND_CLIENT = 5
MAX_FAILURES_PER_ACCOUNT = 50
MAX_FAILURES_PER_CLIENT = 20
MAX_RESETS_PER_ACCOUNT = 3  # reset mails per account per window; more requests are answered but not sent
MAX_RESETS_PER_CLIENT = 10
# argon2 takes 64 MiB per check: at most this many at once per process, so a burst of logins cannot exhaust memory.
_hashing = threading.BoundedSemaphore(4)
RESET_LINK_LIFETIME = timedelta(hours=24)
LAST_SEEN_PRECISION = timedelta(minutes=1)  # a session's last_seen_at is written at most this often

_hasher = PasswordHasher()
# Verified against when the account does not exist, so an unknown e-mail takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccountError(ValueError):
    """A request about accounts that cannot be carried out; the message says why."""


class LoginThrottled(Exception):
    """Too many failed logins recently, for this account or from this client."""


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
        return _hasher.hash(password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        with _hashing:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


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


# --- Logging in and out -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_token: str  # goes into the cookie; only its hash is stored


def authenticate(
    session: Session, email: str, password: str, client: str, settings: Settings, now: datetime
) -> SignedIn | None:
    """Check the password and start a new session (a new id at every login). None for a wrong e-mail or password,
    without saying which. Raises LoginThrottled after too many recent failures for the account or the client;
    a correct password does not lift the throttle, or guessing would go on."""
    email = normalise_email(email)[:320]
    client = client[:64]
    since = now - THROTTLE_WINDOW
    if _throttled(session, email, client, since, "login"):
        raise LoginThrottled()
    user = session.exec(select(User).where(User.email == email)).first()
    password_hash = user.password_hash if user else None
    if not _verify(password_hash, password[:MAX_PASSWORD_LENGTH]) or not user.active:
        session.add(LoginFailure(account=email, client=client, at=now))
        session.exec(delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=1)))  # keep it small
        session.commit()
        return None
    if _hasher.check_needs_rehash(password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    session.exec(delete(LoginFailure).where(LoginFailure.account == email, LoginFailure.client == client))
    token = new_token()
    session.add(
        AuthSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_max_hours),
        )
    )
    session.commit()
    return SignedIn(user, token)


def _throttled(session: Session, account: str, client: str, since: datetime, what: str) -> bool:
    """Whether recent attempts (failed logins, or reset requests, told apart by a prefix) pass a limit."""
    limits = {
        "login": (MAX_FAILURES_PER_ACCOUNT_AND_CLIENT, MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_CLIENT),
        "reset from client": (None, None, MAX_RESETS_PER_CLIENT),
        "reset of account": (None, MAX_RESETS_PER_ACCOUNT, None),
    }[what]
    if what != "login":
        account, client = f"reset:{account}", f"reset:{client}"
    by_both, by_account, by_client = session.exec(
        select(
            func.count().filter(LoginFailure.account == account, LoginFailure.client == client),
            func.count().filter(LoginFailure.account == account),
            func.count().filter(LoginFailure.client == client),
        ).where(LoginFailure.at >= since, (LoginFailure.account == account) | (LoginFailure.client == client))
    ).one()
    return any(
        limit is not None and count >= limit for count, limit in zip((by_both, by_account, by_client), limits)
    )


def user_for_session(session: Session, token: str | None, settings: Settings, now: datetime) -> User | None:
    """The signed-in user behind a session cookie, or None if it is unknown, idle too long, past its absolute
    lifetime or its account was deactivated. Ended sessions are deleted."""
    if not token or len(token) > 100:
        return None
    found = session.get(AuthSession, token_hash(token))
    if found is None:
        return None
    idle_limit = found.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    user = session.get(User, found.user_id)
    if now >= found.expires_at or now >= idle_limit or user is None or not user.active:
        session.delete(found)
        session.commit()
        return None
    if now - found.last_seen_at >= LAST_SEEN_PRECISION:
        found.last_seen_at = now
        session.add(found)
        session.commit()
    return user


def end_session(session: Session, token: str | None) -> None:
    """Log out: the session stops working on the server, whatever the browser keeps."""
    if token and len(token) <= 100:
        session.exec(delete(AuthSession).where(AuthSession.token_hash == token_hash(token)))
        session.commit()


# --- Password reset ---------------------------------------------------------------------------------------


def request_password_reset(
    session: Session, email: str, client: str, settings: Settings, now: datetime
) -> None:
    """A visitor asks for a password link. Every request is recorded the same way, known account or not, so the
    answer and its timing tell nothing; a mail goes out only for an active account, at most a few per hour.
    Raises LoginThrottled when this client asks too often."""
    email, client = normalise_email(email)[:300], client[:50]
    if _throttled(session, email, client, now - THROTTLE_WINDOW, "reset from client"):
        raise LoginThrottled()
    recent = _throttled(session, email, client, now - timedelta(hours=1), "reset of account")
    session.add(LoginFailure(account=f"reset:{email}", client=f"reset:{client}", at=now))
    session.commit()
    if not recent:
        start_password_reset(session, email, settings, now)


def start_password_reset(session: Session, email: str, settings: Settings, now: datetime) -> bool:
    """Queue a mail with a single-use link to set a new password, if an active account has this e-mail (HR's
    "send password link", a new account). Returns whether one was queued."""
    user = session.exec(select(User).where(User.email == normalise_email(email)[:320], User.active)).first()
    if user is None:
        return False
    reset = PasswordReset(user_id=user.id, created_at=now, expires_at=now + RESET_LINK_LIFETIME)
    session.add(reset)
    session.flush()
    reset.token_hash = token_hash(password_reset_token(settings.secret_key, reset.id))
    queue_password_reset(session, reset)
    session.commit()
    return True


def valid_reset(session: Session, token: str, now: datetime) -> PasswordReset | None:
    """The unused, unexpired reset a link's token belongs to, or None."""
    if not token or len(token) > 100:
        return None
    reset = session.exec(select(PasswordReset).where(PasswordReset.token_hash == token_hash(token))).first()
    if reset is None or reset.used_at is not None or now >= reset.expires_at:
        return None
    return reset


def complete_password_reset(session: Session, token: str, password: str, now: datetime) -> User:
    """Set the new password, use up the link (and every other open link of the account) and end every session
    of the account: whoever knew the old password is signed out."""
    reset = valid_reset(session, token, now)
    if reset is None:
        raise AccountError("this link has expired or was used already; ask for a new one")
    user = session.get(User, reset.user_id)
    check_new_password(password, user.email)
    claimed = session.exec(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # a second tab used it a moment ago
        session.rollback()
        raise AccountError("this link has expired or was used already; ask for a new one")
    session.exec(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    user.password_hash = hash_password(password)
    session.add(user)
    session.exec(delete(AuthSession).where(AuthSession.user_id == user.id))
    session.exec(delete(LoginFailure).where(LoginFailure.account == user.email))
    session.commit()
    return user


# --- API tokens -----------------------------------------------------------------------------------------------

API_SCOPES = {
    "roster:read": "read units and employees",
    "roster:write": "import the roster",
    "accounts:write": "name department heads through the roster's head_email column",
    "rounds:read": "read rounds and their response rates",
    "rounds:write": "create, open, close and publish rounds",
    "results:read": "read closed rounds' released scores and linkage",
    "reports:read": "download the PDF reports of published rounds",
    "schedules:read": "read schedules",
    "schedules:write": "create and change schedules",
    "external:read": "read imported customer figures",
    "external:write": "import customer figures",
}
API_TOKEN_PREFIX = "svy_"


def create_api_token(
    session: Session, name: str, scopes: Iterable[str], created_by: User | None, now: datetime
) -> tuple[ApiToken, str]:
    """A new token for an integration. Returns the row and the token, which is shown this once."""
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("a token needs a name of 1 to 100 characters, saying what uses it")
    chosen = sorted(set(scopes))
    unknown = [s for s in chosen if s not in API_SCOPES]
    if unknown:
        raise AccountError(f"unknown scope {', '.join(unknown)}; known: {', '.join(API_SCOPES)}")
    if not chosen:
        raise AccountError("a token needs at least one scope")
    token = API_TOKEN_PREFIX + new_token()
    row = ApiToken(
        name=name,
        token_hash=token_hash(token),
        scopes=" ".join(chosen),
        created_by_id=created_by.id if created_by else None,
        created_at=now,
    )
    session.add(row)
    session.commit()
    return row, token


def api_token_for(session: Session, token: str, now: datetime) -> ApiToken | None:
    """The live (not revoked) token row for a presented token, its last use noted (to the minute)."""
    if not token.startswith(API_TOKEN_PREFIX):
        return None
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_SEEN_PRECISION:
        row.last_used_at = now
        session.add(row)
        session.commit()
    return row


def revoke_api_token(session: Session, token_id: int, now: datetime) -> None:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise AccountError(f"no API token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        session.commit()
