"""The database: engine, one AsyncSession per request, SQLite pragmas, slow-query log.

Transactions on SQLite. Python's sqlite3 driver, left to itself, begins a
transaction only before an INSERT, UPDATE or DELETE, so reads run outside any
transaction and SQLite, not the code, decides when the write lock is taken.
Worse, in WAL mode a transaction that has read and then writes cannot wait for
the write lock: if another connection committed since its read began, SQLite
answers SQLITE_BUSY ("database is locked") at once, whatever the busy
timeout, because waiting could never make its snapshot current again. So the
driver's own transaction control is switched off (`isolation_level = None`)
and the dialect emits the BEGIN itself (service.sqlite_driver): a plain, deferred
`BEGIN` for work that only reads, and `BEGIN IMMEDIATE` for work that writes,
which takes the write lock before the first statement and so waits for it
(busy timeout) instead of failing. Code says "this unit of work writes" with
`write_transaction(session)`; every write in the application goes through it.
Within one process the writers also queue on an asyncio lock: SQLite's busy
handler polls, so fifty waiting connections would race for the lock each
time it is freed and an unlucky one could starve past the busy timeout; with
the queue, only one writer per worker process waits on SQLite at a time.
On PostgreSQL the same helper is a plain transaction, and writers run in parallel.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from quart import Quart, current_app, g
from sqlalchemy import Executable, event
from sqlalchemy.engine import URL, Connection, Engine, Result, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from . import sqlite_driver
from .config import POSTGRES_MAX_OVERFLOW, POSTGRES_POOL_SIZE
from .sqlite_driver import WRITE_OPTION

log = logging.getLogger("flasky.db")

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str) -> URL:
    """Map plain `sqlite://` and `postgresql://` URLs to their async drivers."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is not None:
        parsed = parsed.set(drivername=driver)
    return parsed


# The connections to a SQLite file a worker keeps open, and how many more it may
# open at once. A request holds one as long as it runs; with SQLAlchemy's default
# for SQLite (5 kept, 10 more closed when given back), a worker serving 16
# requests at once kept opening and closing connections — each a thread, a file,
# its pragmas and the schema read again: 7.3 ms a request at 16 at once against
# 3.8 ms with 20 kept. An idle one costs a sleeping thread and three file
# descriptors (docs/performance.md,
# "SQLite connections kept, reads on one thread, start-up frozen").
SQLITE_POOL_SIZE = 32
SQLITE_MAX_OVERFLOW = 96


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver emits no BEGIN of its own: the dialect decides which one
    # (service.sqlite_driver).
    dbapi_connection.isolation_level = None
    # WAL lets readers and one writer work at once; the busy timeout makes a
    # second writer wait for the lock (BEGIN IMMEDIATE waits, see the module
    # docstring). A writer holds the lock across awaits, and under a burst of
    # logins (Argon2 keeps both cores busy) its event loop can lag by seconds:
    # 10 s leaves room.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _watch_slow_queries(engine: AsyncEngine, threshold: float) -> None:
    # PostgreSQL's statements; SQLite's driver times its own (service.sqlite_driver).
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(conn: Connection, *_args: Any) -> None:
        conn.info.setdefault("query_started", []).append(time.perf_counter())

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _stop(conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        elapsed = time.perf_counter() - conn.info["query_started"].pop()
        if elapsed >= threshold:
            log.warning("Slow query (%.3f s): %s parameters=%r", elapsed, statement, parameters)


def make_engine(
    url: str,
    slow_query_time: float = 0.5,
    pool_size: int = POSTGRES_POOL_SIZE,
    max_overflow: int = POSTGRES_MAX_OVERFLOW,
) -> AsyncEngine:
    """An engine for `url`, with the pragmas SQLite needs for concurrent writers.

    `pool_size` and `max_overflow` size the connection pool of a server
    database (PostgreSQL): every worker process has its own pool, so a site
    may open pool_size + max_overflow connections per worker. The defaults
    keep every connection a worker opens, up to 15: SQLAlchemy's (5 kept,
    10 more closed when given back) allow as many, but a worker serving more
    than 5 requests at once kept connecting to PostgreSQL again: at 16 at
    once, each worker served 20-80% more signed-in pages a second with its
    connections kept (docs/performance.md, "PostgreSQL connections kept").
    """
    parsed = async_url(url)
    kwargs: dict[str, Any] = {}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs.update(pool_size=SQLITE_POOL_SIZE, max_overflow=SQLITE_MAX_OVERFLOW)
        # aiosqlite (SQLAlchemy's only asyncio driver for SQLite) through
        # service.sqlite_driver, which begins transactions and times statements.
        parsed = parsed.set(drivername=f"sqlite+{sqlite_driver.DRIVER_NAME}")
        kwargs["connect_args"] = {"timeout": 30, "slow_query_time": slow_query_time}
    else:
        kwargs.update(pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)
    engine = create_async_engine(parsed, **kwargs)
    if sqlite:
        # A pool event: it leaves the engine's statements off the event path.
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    else:
        _watch_slow_queries(engine, slow_query_time)
    return engine


def init_app(app: Quart, engine: AsyncEngine) -> None:
    """Give `app` the engine, a session factory, and per-request session cleanup."""
    app.extensions["db_engine"] = engine
    app.extensions["db_sessionmaker"] = async_sessionmaker(engine, expire_on_commit=False)

    @app.teardown_appcontext
    async def _close_session(_exc: BaseException | None) -> None:
        session: AsyncSession | None = g.pop("db_session", None)
        if session is not None:
            # Closing rolls back whatever the request did not commit.
            await session.close()

    @app.after_serving
    async def _dispose_engine() -> None:
        await engine.dispose()


def get_session() -> AsyncSession:
    """The AsyncSession of the current request, created on first use."""
    session: AsyncSession | None = g.get("db_session")
    if session is None:
        session = current_app.extensions["db_sessionmaker"]()
        g.db_session = session
    return session


async def read_rows(
    session: AsyncSession, statement: Executable, params: Mapping[str, Any] | None = None
) -> Result[*tuple[Any, ...]]:
    """Run a read that selects plain columns (no ORM entity) on the session's connection.

    Same connection and transaction as `session.execute`, without the ORM's
    execution around the statement (autoflush, ORM result processing): about
    a tenth of a short statement's CPU, for rows that are plain tuples
    anyway (the index: 8.07 → 7.74 million instructions a request). For
    reads only: nothing pending is flushed, and changes belong inside
    `write_transaction`, which commits them.
    """
    # One hop into SQLAlchemy's greenlet for the connection and the statement
    # together (`await session.connection()`, then `execute` on it, made two).
    # The driver adapters hold every row by the time `execute` returns.
    result: Result[*tuple[Any, ...]] = await session.run_sync(_read, statement, params)
    return result


def _read(
    session: Session, statement: Executable, params: Mapping[str, Any] | None
) -> Result[*tuple[Any, ...]]:
    return session.connection().execute(statement, params)


# One queue of SQLite writers per engine and event loop (an asyncio lock belongs to one loop).
_write_queues: weakref.WeakKeyDictionary[
    Engine, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
] = weakref.WeakKeyDictionary()


def _write_queue(session: AsyncSession) -> asyncio.Lock | None:
    """The lock this process's SQLite writers take turns on; None for other databases."""
    bind = session.bind
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "sqlite":
        return None
    per_loop = _write_queues.setdefault(bind.sync_engine, weakref.WeakKeyDictionary())
    return per_loop.setdefault(asyncio.get_running_loop(), asyncio.Lock())


@asynccontextmanager
async def write_transaction(session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """A transaction that writes: the write lock is taken up front, the block's work committed.

    A read transaction still open on `session` is ended first (it holds no
    changes: those belong inside the block), then a new transaction begins with
    `BEGIN IMMEDIATE` on SQLite (a plain BEGIN elsewhere). On SQLite every
    other writer waits while the block runs, so keep it to the statements
    themselves: hash passwords and render Markdown before entering it. An
    exception rolls the block back and propagates (an IntegrityError, say,
    for the caller to turn into a message).
    """
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            # Flushing them here would write inside the read transaction.
            raise RuntimeError("Changes made before write_transaction belong inside it")
        await session.commit()
    queue = _write_queue(session)
    if queue is not None:
        await queue.acquire()
    try:
        await session.connection(execution_options={WRITE_OPTION: True})
        yield session
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        if queue is not None:
            queue.release()
