"""Secrets handed to people (invitation links, survey cookies, form keys, sessions, API tokens) and the hashes
we keep of them."""

import base64
import hashlib
import hmac
import secrets

TOKEN_BYTES = 32  # 256 bits: far past the 128 the anonymity rules ask for


def new_token() -> str:
    """A URL-safe random token. Show it once; store only `token_hash(token)`."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """SHA-256 hex of a token. Tokens are random, so a fast hash is enough: there is nothing to guess."""
    return hashlib.sha256(token.encode()).hexdigest()


def derived_token(secret_key: str, purpose: str, *parts: object) -> str:
    """A token computed from the server's secret key, so it need not be stored to be sent again (a reminder
    carries the same personal link as the invitation). 256 bits; unguessable without the key. Store only
    `token_hash(token)`; to replace a token, change one of `parts` (a version number)."""
    key = hmac.new(secret_key.encode(), b"survey links", hashlib.sha256).digest()
    message = "\x1f".join([purpose, *map(str, parts)]).encode()
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).rstrip(b"=").decode()


def invitation_token(secret_key: str, invitation_id: int, link_version: int) -> str:
    return derived_token(secret_key, "invitation", invitation_id, link_version)


def password_reset_token(secret_key: str, reset_id: int) -> str:
    return derived_token(secret_key, "password reset", reset_id)


# --- Customer form keys ------------------------------------------------------------------------------------------

FORM_KEY_LIFETIME_SECONDS = 24 * 3600  # a form left open longer is served again
FORM_KEY_CLOCK_SKEW_SECONDS = (
    300  # servers' clocks may differ this much: a key "from the future" up to it is fine
)


class FormKeyRefused(ValueError):
    """A customer form key the server did not issue, or not for this team and round, or too old. The message says
    which, in words for the log; the customer sees a fresh form."""


def customer_form_key(secret_key: str, round_id: int, team_id: int, issued_at: int) -> str:
    """A key for one customer form of a team in a round, issued at `issued_at` (Unix seconds): a random part, so
    each form served is a new one, and a signature over all of it, so no one without the secret key can make one.
    `round.team.issued.random.signature`, about 90 characters. Store only `token_hash(key)` once it is used."""
    nonce = secrets.token_urlsafe(16)
    body = f"{round_id}.{team_id}.{issued_at}.{nonce}"
    return f"{body}.{derived_token(secret_key, 'customer form', body)}"


def check_customer_form_key(secret_key: str, key: str, round_id: int, team_id: int, now: int) -> None:
    """Raise FormKeyRefused unless `key` was issued by this server for this team and round, less than
    FORM_KEY_LIFETIME_SECONDS before `now` (Unix seconds)."""
    parts = key.split(".")
    if len(parts) != 5 or len(key) > 200:
        raise FormKeyRefused("not a form key this server issues")
    body, signature = key.rsplit(".", 1)
    if not hmac.compare_digest(signature, derived_token(secret_key, "customer form", body)):
        raise FormKeyRefused("the form key's signature does not match")
    key_round, key_team, issued = parts[0], parts[1], parts[2]
    if key_round != str(round_id) or key_team != str(team_id):
        raise FormKeyRefused("the form key was issued for another team or round")
    if not issued.isdigit():
        raise FormKeyRefused("the form key's time is not a number")
    age = now - int(issued)
    if age > FORM_KEY_LIFETIME_SECONDS:
        raise FormKeyRefused(f"the form key is {age // 3600} hours old")
    if age < -FORM_KEY_CLOCK_SKEW_SECONDS:
        raise FormKeyRefused("the form key was issued in the future")
