"""What every response carries for safety (security headers), and logs that keep secrets out."""

from __future__ import annotations

import logging
import re

from litestar.types import Message, Scope

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def security_headers(hsts: bool):
    """A `before_send` hook: headers every response carries (404s for unknown paths included) unless it set
    its own."""
    headers = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        # Invitation links carry a secret: never pass the page URL on to another site.
        (b"referrer-policy", b"no-referrer"),
        # Survey pages may show answers on a shared device: keep them out of caches.
        (b"cache-control", b"no-store"),
    ]
    if hsts:
        headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            message["headers"] = [*message.get("headers", []), *(h for h in headers if h[0] not in present)]

    return add_headers


_SECRET_PATH = re.compile(r"(/i/|/password/reset/)[^/?\s\"]+")
_SURVEY_PATHS = ("/i/", "/survey")


def redact(text: str) -> str:
    """Hide invitation and password-reset tokens in a path or log line."""
    return _SECRET_PATH.sub(r"\1[redacted]", text)


class RedactInvitations(logging.Filter):
    """For the server's access log: no invitation token, and no client address on employee survey pages."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            client, method, path, *rest = record.args
            if isinstance(path, str) and path.startswith(_SURVEY_PATHS):
                record.args = ("-", method, redact(path), *rest)
            elif isinstance(path, str):
                record.args = (client, method, redact(path), *rest)
        return True
