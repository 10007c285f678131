"""API tokens for integrations, created by HR (on the tokens page, or `survey token create`): shown once, stored as
a hash, limited to scopes, revocable."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session, select

from survey.accounts.users import AccountError, normalise_email
from survey.db.models import ApiToken, Role, User
from survey.tokens import new_token, token_hash

LAST_USED_PRECISION = timedelta(minutes=1)  # a token's last_used_at is written at most this often

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
    "promises:read": "read support functions' service promises",
    "promises:write": "write the next version of a support function's service promises",
    "actions:read": "read action plans and the teams' requests",
    "actions:write": "create and change action plans and add notes",
}
API_TOKEN_PREFIX = "svy_"
_OTHER_ROLES = {Role.HEAD: "a department head's", Role.EXECUTIVE: "an executive's"}


def token_owner(session: Session, email: str) -> User:
    """The account that makes a token, named by its e-mail address. Raises AccountError if there is none."""
    owner = session.exec(select(User).where(User.email == normalise_email(email))).first()
    if owner is None:
        raise AccountError(f"no account {email.strip()!r}")
    return owner


def create_api_token(
    session: Session, name: str, scopes: Iterable[str], created_by: User | None, now: datetime
) -> tuple[ApiToken, str]:
    """A new token for an integration, made by `created_by`: an active HR account, as only HR reaches the tokens
    page. Returns the row and the token, which is shown this once. Raises AccountError, having written nothing."""
    if created_by is not None and (created_by.role != Role.HR or not created_by.active):
        what = (
            "is deactivated" if created_by.role == Role.HR else f"is {_OTHER_ROLES[created_by.role]} account"
        )
        raise AccountError(f"{created_by.email} {what}: only an active HR account creates API tokens")
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
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
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
