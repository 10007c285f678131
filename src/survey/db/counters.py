"""Counts shared by every server process: requests per client and minute, customer answers per team and hour.

Each count is one row per key and time window (`RequestCount`), added to by an upsert that both SQLite and
PostgreSQL run atomically (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), so processes counting at once never
lose a count and each learns the total its own addition reached. Rows whose window is past are deleted whenever a
new window's row appears.
"""

from __future__ import annotations

import time
from collections import Counter

from sqlalchemy import Connection, delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from survey.db.models import RequestCount

Window = tuple[str, int, int]  # key, the window's start and the time its row may be deleted (Unix seconds)


def add_counts(connection: Connection, windows: list[Window]) -> list[int]:
    """Count each of `windows` once, in the caller's transaction; for each, in order, the count it reached: the
    first of two items naming the same window gets the lower count."""
    if not windows:
        return []
    added = Counter((key, start) for key, start, _ in windows)
    expires = {(key, start): until for key, start, until in windows}
    table = RequestCount.__table__  # type: ignore[attr-defined]
    insert = (sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert)(table)
    rows = [{"key": k, "window": w, "count": n, "expires": expires[k, w]} for (k, w), n in added.items()]
    statement = insert.values(rows).on_conflict_do_update(
        index_elements=[table.c.key, table.c.window], set_={"count": table.c.count + insert.excluded.count}
    )
    totals = {
        (key, window): count
        for key, window, count in connection.execute(
            statement.returning(table.c.key, table.c.window, table.c.count)
        )
    }
    if any(totals[pair] == n for pair, n in added.items()):  # a new window began: clear the past ones
        connection.execute(delete(RequestCount).where(col(RequestCount.expires) < int(time.time())))
    reached, seen = [], Counter[tuple[str, int]]()
    for key, start, _ in windows:
        seen[key, start] += 1
        reached.append(totals[key, start] - added[key, start] + seen[key, start])
    return reached
