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
