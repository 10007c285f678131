"""Engine, transactions and migrations, for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import msgspec
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
T = TypeVar("T")
R = TypeVar("R")


# PostgreSQL: a no-op update gives every row of the round one and the same new transaction id.
_RESTAMP_ROUND = (
    "UPDATE invitation SET answered = answered WHERE round_id = :round_id",
    "UPDATE internal_response SET team_id = team_id WHERE round_id = :round_id",
    "UPDATE internal_review SET used = used"
    " WHERE response_id IN (SELECT id FROM internal_response WHERE round_id = :round_id)",
    "UPDATE external_response SET team_id = team_id WHERE round_id = :round_id",
    "UPDATE customer_form_key SET round_id = round_id WHERE round_id = :round_id",
)
_RESPONSE_SIDE_TABLES = (
    "invitation",
    "internal_response",
    "internal_review",
    "external_response",
    "customer_form_key",
)


class NotMigrated(RuntimeError):
    """The database schema is not at the newest migration; the message says what to run."""


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever the URL names (postgres://, postgresql://)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def _json(value) -> str:
    return msgspec.json.encode(value).decode()


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(
            url,
            pool_size=10,
            max_overflow=30,
            pool_pre_ping=True,
            json_serializer=_json,
            hide_parameters=True,
        )
    # SQLite connections are cheap: enough that handler threads never wait for one.
    engine = create_engine(
        url,
        pool_use_lifo=True,  # the writer keeps reusing one warm connection (and its page cache)
        pool_size=16,
        max_overflow=64,
        connect_args={"check_same_thread": False, "timeout": 30},
        json_serializer=_json,
        hide_parameters=True,  # error logs must not carry answers, comments or session hashes
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-32768")  # 32 MiB of pages per connection, allocated as used
        cursor.close()

    return engine


class Database:
    """The one handle on the database: sessions for reading, `write()` for transactions that change data."""

    def __init__(self, url: str):
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # SQLite has one writer at a time. Queueing this process's writers on a lock is fairer and faster
        # than letting them poll the file lock (SQLite's busy handler sleeps in steps of up to 100 ms).
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self._groups: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = (
            weakref.WeakKeyDictionary()
        )

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        if self._write_lock is None:
            with self.engine.begin() as connection:
                yield connection
            return
        with self._write_lock, self.engine.begin() as connection:
            yield connection

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A Session inside `write()`: one transaction, committed when the block ends, rolled back if it raises.

        The session's own `commit()` calls only flush into that transaction, so functions that commit (such as
        `rounds.issue_invitations`) can be combined with others into one all-or-nothing change."""
        with self.write() as connection, Session(bind=connection, expire_on_commit=False) as session:
            yield session
            session.flush()

    async def write_batched(self, batch: Callable[[Connection, list[T]], list[R]], item: T) -> R:
        """Write `item` with `batch(connection, items)`, in one transaction with the other items submitted on this
        event loop meanwhile (group commit): one commit, and one trip to a thread, for many survey submissions.

        `batch` returns one result per item, in order, and expresses outcomes as results, not exceptions. If the
        shared transaction fails, every item in it is written again alone, so each stays all-or-nothing and a
        failing item takes only itself down.
        """
        loop = asyncio.get_running_loop()
        group = self._groups.get(loop)
        if group is None:
            group = self._groups[loop] = GroupCommit(self)
        return await group.run(batch, item)

    def erase_arrival_order(self, round_id: int) -> None:
        """Rewrite what the database keeps, below the rows, about the order answers arrived in.

        Rows hold no time, but storage does: SQLite lays cells out in a page in insertion order, and PostgreSQL
        stamps each row with the transaction that wrote it (`xmin`, shared by an invitation and its response)
        and stores rows in arrival order (`ctid`). Run when a round closes. On SQLite, VACUUM rebuilds every
        page in key order (random ids) and the WAL is emptied; on PostgreSQL, the round's rows are re-stamped in
        one transaction, then the tables are rewritten in primary-key order, dropping the old row versions.
        """
        if not self.is_sqlite:
            with self.write() as connection:  # one transaction: one stamp for every row of the round
                for statement in _RESTAMP_ROUND:
                    connection.execute(text(statement), {"round_id": round_id})
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if self._write_lock is not None:  # SQLite
                with self._write_lock:
                    connection.exec_driver_sql("VACUUM")
                    connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                return
            for table in _RESPONSE_SIDE_TABLES:
                connection.exec_driver_sql(f"CLUSTER {table} USING {table}_pkey")

    def dispose(self) -> None:
        self.engine.dispose()

    def check_migrated(self) -> None:
        """Raise NotMigrated unless the schema is at the newest migration. Reads the migration the database is at
        as Alembic records it, without loading Alembic (every command checks this)."""
        head = head_revision()
        with self.engine.connect() as connection:
            current = None
            if inspect(connection).has_table("alembic_version"):
                current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if current != head:
            state = (
                "has no survey tables yet" if current is None else f"is at migration {current}, not {head}"
            )
            raise NotMigrated(f"The database {self.safe_url} {state}. Run: survey db upgrade")

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)


def head_revision() -> str:
    """The newest migration: the one no other migration revises, read from the files in migrations/versions."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text()
        revisions.update(re.findall(r'^revision = "(\w+)"', source, re.MULTILINE))
        revised.update(re.findall(r'^down_revision = "(\w+)"', source, re.MULTILINE))
    (head,) = revisions - revised
    return head


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


class GroupCommit:
    """The mechanism behind `Database.write_batched`, for one event loop.

    Items queue on the loop. While a batch is being written in a thread, new items wait; when it is done, all
    that arrived meanwhile go in the next batch. Coordination happens on the loop alone, so it needs no locks.
    """

    def __init__(self, db: Database, max_batch: int = 512):
        self._db = db
        self._max_batch = max_batch
        self._pending: list[tuple[Callable, object, asyncio.Future]] = []
        self._writing = False
        self._writer: asyncio.Task | None = None  # held so the running task is not garbage-collected

    async def run(self, batch: Callable[[Connection, list[T]], list[R]], item: T) -> R:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((batch, item, future))
        if not self._writing:
            self._writing = True
            self._writer = asyncio.get_running_loop().create_task(self._write_pending())
        return await future

    async def _write_pending(self) -> None:
        loop = asyncio.get_running_loop()
        tickets: list = []
        try:
            while self._pending:
                tickets, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
                outcomes = await loop.run_in_executor(None, self._commit, [(b, i) for b, i, _ in tickets])
                for (_, _, future), (value, error) in zip(tickets, outcomes, strict=True):
                    if future.done():  # its request went away
                        continue
                    if error is None:
                        future.set_result(value)
                    else:
                        future.set_exception(error)
                tickets = []
        except BaseException as failure:
            # The writer itself failed (cancelled, or no thread to run in): nobody may wait forever.
            for _, _, future in [*tickets, *self._pending]:
                if not future.done():
                    future.set_exception(RuntimeError(f"the database writer stopped: {failure!r}"))
            self._pending = []
            raise
        finally:
            self._writing = False
            self._writer = None  # drop the task, and with it the reference to its loop

    def _commit(self, tickets: list[tuple[Callable, object]]) -> list[tuple[object, BaseException | None]]:
        """Write every ticket in one transaction; if that fails, each alone. Runs in a thread."""
        groups: dict[Callable, list[int]] = {}
        for index, (batch, _) in enumerate(tickets):
            groups.setdefault(batch, []).append(index)
        outcomes: list[tuple[object, BaseException | None]] = [(None, None)] * len(tickets)
        try:
            with self._db.write() as connection:
                for batch, indexes in groups.items():
                    values = batch(connection, [tickets[i][1] for i in indexes])
                    for index, value in zip(indexes, values, strict=True):
                        outcomes[index] = (value, None)
            return outcomes
        except Exception:
            return [self._commit_alone(batch, item) for batch, item in tickets]

    def _commit_alone(self, batch: Callable, item: object) -> tuple[object, BaseException | None]:
        try:
            with self._db.write() as connection:
                (value,) = batch(connection, [item])
            return value, None
        except Exception as error:
            return None, error
