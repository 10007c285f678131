"""Secrets handed to people (invitation links, survey cookies, form keys) and the hashes we keep of them."""

import hashlib
import secrets

TOKEN_BYTES = 32  # 256 bits: far past the 128 the anonymity rules ask for


def new_token() -> str:
    """A URL-safe random token. Show it once; store only `token_hash(token)`."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """SHA-256 hex of a token. Tokens are random, so a fast hash is enough: there is nothing to guess."""
    return hashlib.sha256(token.encode()).hexdigest()
