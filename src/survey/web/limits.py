"""A per-client request limit counted in the database (`db.counters`), so every server process shares one count:
N processes do not give N times the limit. The client is the real one (`web.clients`), never what a forwarding
header claims unless a trusted proxy wrote it. Addresses are kept only as keyed hashes, and only for two minutes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from litestar import Request
from litestar.exceptions import TooManyRequestsException

from survey.db.counters import add_counts
from survey.db.engine import Database
from survey.settings import Settings
from survey.tokens import derived_token
from survey.web.clients import client_address

WINDOW_SECONDS = 60


def request_limit(
    db: Database, settings: Settings, scope: str, per_minute: int
) -> Callable[[Request], Awaitable[None]]:
    """A `before_request` hook: counts the request against its client's limit for the current minute under
    `scope`, and answers 429 with Retry-After (the seconds to the next minute) past it."""
    secret_key, trusted = settings.secret_key, settings.trusted_networks

    async def count_request(request: Request) -> None:
        address = client_address(request, trusted)
        key = f"{scope} {derived_token(secret_key, 'rate limit', address)[:32]}"
        now = time.time()
        start = int(now // WINDOW_SECONDS * WINDOW_SECONDS)
        if await db.write_batched(add_counts, (key, start, start + 2 * WINDOW_SECONDS)) > per_minute:
            retry_after = max(1, start + WINDOW_SECONDS - int(now))
            raise TooManyRequestsException(headers={"Retry-After": str(retry_after)})

    return count_request
