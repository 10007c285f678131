"""Signing in: password checks that throttle guessing, server-side sessions, and password resets by mailed link.

A signed-in browser holds a random session token; the database keeps its hash, so a copy of the database signs no
one in. Failed logins are counted per account and per client in the database, so every server process throttles
the same guesses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from survey.accounts.users import (
    MAX_PASSWORD_LENGTH,
    AccountError,
    check_new_password,
    hash_password,
    needs_rehash,
    normalise_email,
    verify_password,
)
from survey.db.models import AuthSession, LoginFailure, PasswordRequest, PasswordReset, Role, User
from survey.mail.outbox import queue_password_reset
from survey.settings import Settings
from survey.tokens import new_token, password_reset_token, token_hash

THROTTLE_WINDOW = timedelta(minutes=15)
# Failed logins slow the guesser down, not the account's owner. One address failing against one account waits
# 15 s after its FREE_FAILURES-th failure, then twice as long after each further one (30 s, 1 min, ... at most
# 15 min), counted over FAILURE_MEMORY. Failures from many addresses against one account (a spread-out
# guesser, or someone trying to lock the owner out) make every address that has failed against it wait
# SPREAD_WAIT after each of its own failures: an address that has not failed, the owner's, is never held up.
# One address failing across many accounts waits the doubling way after MAX_FAILURES_PER_CLIENT.
FREE_FAILURES = 5
FIRST_WAIT = timedelta(seconds=15)
MAX_WAIT = timedelta(minutes=15)
FAILURE_MEMORY = timedelta(hours=1)
SPREAD_FAILURES = 20  # failures of one account from anywhere within THROTTLE_WINDOW
SPREAD_WAIT = timedelta(seconds=10)
MAX_FAILURES_PER_CLIENT = 20  # failures from one address across accounts within THROTTLE_WINDOW
MAX_RESETS_PER_ACCOUNT = 3  # links an account's owner is sent per hour; more requests are answered, not sent
MAX_RESETS_PER_CLIENT = 10
RESET_LINK_LIFETIME = timedelta(hours=24)
LAST_SEEN_PRECISION = timedelta(minutes=1)  # a session's last_seen_at is written at most this often


class LoginThrottled(Exception):
    """Too many failed logins (or reset requests) recently from this client: it may try again after
    `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"try again in {retry_after} seconds")
        self.retry_after = retry_after


def doubling_wait(failures: int, free: int) -> timedelta:
    """How long to wait after the latest of `failures`: nothing below `free`, then FIRST_WAIT doubling with
    each further failure, at most MAX_WAIT."""
    if failures < free:
        return timedelta(0)
    return min(FIRST_WAIT * 2 ** min(failures - free, 20), MAX_WAIT)


@dataclass(frozen=True)
class RecentFailures:
    """Failed logins counted for one attempt: of this account from this client (over FAILURE_MEMORY), of this
    account from anywhere and from this client across accounts (over THROTTLE_WINDOW), each with its latest."""

    pair: int
    pair_last: datetime | None
    account: int
    client: int
    client_last: datetime | None


def login_wait(recent: RecentFailures, now: datetime) -> timedelta:
    """How much longer this client must wait before trying this account again (zero: it may try now)."""
    until = now
    if recent.pair_last is not None:
        wait = doubling_wait(recent.pair, FREE_FAILURES)
        if recent.account >= SPREAD_FAILURES:
            wait = max(wait, SPREAD_WAIT)
        until = max(until, recent.pair_last + wait)
    if recent.client_last is not None:
        until = max(until, recent.client_last + doubling_wait(recent.client, MAX_FAILURES_PER_CLIENT))
    return until - now


# --- Logging in and out -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_token: str  # goes into the cookie; only its hash is stored


def authenticate(
    session: Session, email: str, password: str, client: str, settings: Settings, now: datetime
) -> SignedIn | None:
    """Check the password and start a new session (a new id at every login). None for a wrong e-mail or password,
    without saying which. Raises LoginThrottled while this client must still wait after its recent failures
    (`login_wait`); a correct password does not lift the wait, or guessing would go on. Attempts refused so
    are not counted: waiting is enough to be let in again."""
    email = normalise_email(email)[:320]
    client = client[:64]
    wait = login_wait(_recent_failures(session, email, client, now), now)
    if wait > timedelta(0):
        raise LoginThrottled(math.ceil(wait.total_seconds()))
    user = session.exec(select(User).where(User.email == email)).first()
    password_hash = user.password_hash if user else None
    # With password login off, every other account fails as a wrong password would, after the same slow check:
    # the answer does not tell which address is the break-glass account.
    allowed = (
        user is not None
        and settings.may_use_password(email)
        and (settings.password_login or user.role == Role.HR)
    )
    if not verify_password(password_hash, password[:MAX_PASSWORD_LENGTH]) or not allowed or not user.active:
        session.add(LoginFailure(account=email, client=client, at=now))
        session.exec(delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=1)))  # keep it small
        session.commit()
        return None
    if needs_rehash(password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    session.exec(delete(LoginFailure).where(LoginFailure.account == email, LoginFailure.client == client))
    return start_session(session, user, settings, now)


def start_session(
    session: Session, user: User, settings: Settings, now: datetime, provider_id_token: str | None = None
) -> SignedIn:
    """A new session for an account whose identity was just checked (by password or by the identity provider,
    whose ID token is kept for signing out there). Commits."""
    token = new_token()
    session.add(
        AuthSession(
            token_hash=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_max_hours),
            provider_id_token=provider_id_token,
        )
    )
    session.commit()
    return SignedIn(user, token)


def _recent_failures(session: Session, account: str, client: str, now: datetime) -> RecentFailures:
    recent = now - THROTTLE_WINDOW
    both = (LoginFailure.account == account) & (LoginFailure.client == client)
    row = session.exec(
        select(
            func.count().filter(both),
            func.max(LoginFailure.at).filter(both),
            func.count().filter(LoginFailure.account == account, LoginFailure.at >= recent),
            func.count().filter(LoginFailure.client == client, LoginFailure.at >= recent),
            func.max(LoginFailure.at).filter(LoginFailure.client == client, LoginFailure.at >= recent),
        ).where(
            LoginFailure.at >= now - FAILURE_MEMORY,
            (LoginFailure.account == account) | (LoginFailure.client == client),
        )
    ).one()
    pair, pair_last, by_account, by_client, client_last = row
    return RecentFailures(pair, pair_last, by_account, by_client, client_last)


def _throttled(session: Session, account: str, client: str, since: datetime, what: str) -> bool:
    """Whether recent reset requests (told apart from failed logins by a prefix) pass a limit."""
    limits = {
        "reset from client": (None, None, MAX_RESETS_PER_CLIENT),
        "reset of account": (None, MAX_RESETS_PER_ACCOUNT, None),
    }[what]
    account, client = f"reset:{account}", f"reset:{client}"
    by_both, by_account, by_client = session.exec(
        select(
            func.count().filter(LoginFailure.account == account, LoginFailure.client == client),
            func.count().filter(LoginFailure.account == account),
            func.count().filter(LoginFailure.client == client),
        ).where(LoginFailure.at >= since, (LoginFailure.account == account) | (LoginFailure.client == client))
    ).one()
    return any(
        limit is not None and count >= limit
        for count, limit in zip((by_both, by_account, by_client), limits, strict=True)
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


def end_session(session: Session, token: str | None) -> str | None:
    """Log out: the session stops working on the server, whatever the browser keeps. Returns the ID token it
    began with at the identity provider, if it did (the hint for signing out there too)."""
    if not token or len(token) > 100:
        return None
    found = session.get(AuthSession, token_hash(token))
    if found is None:
        return None
    id_token = found.provider_id_token
    session.delete(found)
    session.commit()
    return id_token


# --- Password reset ---------------------------------------------------------------------------------------


def request_password_reset(
    session: Session, email: str, client: str, settings: Settings, now: datetime
) -> None:
    """A visitor asks for a password link ("Forgot your password?"). The request does the same work whatever
    the address: it checks this client's recent requests, and records the request twice (for that check, and
    for the scheduler's pass, `prepare_requested_links`, to mail a link if an active account has the address).
    It never looks the account up, so neither the answer nor its timing tells whether one exists. Raises
    LoginThrottled when this client asks too often."""
    email, client = normalise_email(email)[:300], client[:50]
    if _throttled(session, email, client, now - THROTTLE_WINDOW, "reset from client"):
        raise LoginThrottled(int(THROTTLE_WINDOW.total_seconds()))
    session.add(LoginFailure(account=f"reset:{email}", client=f"reset:{client}", at=now))
    session.add(PasswordRequest(email=email, requested_at=now))
    session.commit()


def prepare_requested_links(session: Session, settings: Settings, now: datetime, limit: int = 500) -> int:
    """The scheduler's pass over "forgot password" requests: each is claimed (deleted) by one process, and
    becomes a mail with a link if an active account has the address and it has not been sent
    MAX_RESETS_PER_ACCOUNT such links in the last hour; otherwise nothing. Returns how many links were queued."""
    queued = 0
    requests = session.exec(select(PasswordRequest).order_by(PasswordRequest.id).limit(limit)).all()
    for request in requests:
        claimed = session.exec(delete(PasswordRequest).where(PasswordRequest.id == request.id)).rowcount
        if claimed != 1:  # another process took it
            continue
        user = session.exec(select(User).where(User.email == request.email, User.active)).first()
        if user is not None and not settings.may_use_password(user.email):
            user = None  # a password it could not use: the identity provider signs this account in
        if user is not None and _owner_links_last_hour(session, user.id, now) < MAX_RESETS_PER_ACCOUNT:
            _new_reset(session, user, settings, now, started_by=None)
            queued += 1
        session.commit()
    return queued


def _owner_links_last_hour(session: Session, user_id: int, now: datetime) -> int:
    return session.exec(
        select(func.count()).where(
            PasswordReset.user_id == user_id,
            PasswordReset.started_by_id.is_(None),
            PasswordReset.created_at >= now - timedelta(hours=1),
        )
    ).one()


def start_password_reset(
    session: Session, email: str, settings: Settings, now: datetime, started_by: User | None = None
) -> bool:
    """Queue a mail with a single-use link to set a new password, if an active account has this e-mail: HR's
    "send password link" and a new account (`started_by`, the HR account), or the operator's command line (no
    one). Returns whether one was queued."""
    user = session.exec(select(User).where(User.email == normalise_email(email)[:320], User.active)).first()
    if user is None:
        return False
    _new_reset(session, user, settings, now, started_by)
    session.commit()
    return True


def _new_reset(
    session: Session, user: User, settings: Settings, now: datetime, started_by: User | None
) -> PasswordReset:
    reset = PasswordReset(
        user_id=user.id,
        created_at=now,
        expires_at=now + RESET_LINK_LIFETIME,
        started_by_id=started_by.id if started_by else None,
    )
    session.add(reset)
    session.flush()
    reset.token_hash = token_hash(password_reset_token(settings.secret_key, reset.id))
    queue_password_reset(session, reset)
    return reset


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
    if user is None:  # the link's account is gone
        raise AccountError("this link has expired or was used already; ask for a new one")
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
