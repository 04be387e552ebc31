"""The database: engine, one AsyncSession per request, SQLite pragmas, slow-query log."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from quart import Quart, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers and one writer work at once; the busy timeout makes a
    # second writer wait instead of failing with "database is locked". A writer
    # holds the lock across awaits, and under a burst of logins (Argon2 keeps
    # both cores busy) its event loop can lag by seconds: 10 s leaves room.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _watch_slow_queries(engine: AsyncEngine, threshold: float) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(conn: Connection, *_args: Any) -> None:
        conn.info.setdefault("query_started", []).append(time.perf_counter())

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _stop(conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        elapsed = time.perf_counter() - conn.info["query_started"].pop()
        if elapsed >= threshold:
            log.warning("Slow query (%.3f s): %s parameters=%r", elapsed, statement, parameters)


def make_engine(url: str, slow_query_time: float = 0.5) -> AsyncEngine:
    """An engine for `url`, with the pragmas SQLite needs for concurrent writers."""
    parsed = async_url(url)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
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
