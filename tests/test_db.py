"""The database layer: URL mapping, SQLite pragmas, per-request sessions, slow-query log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service import create_app
from service.config import load_config
from service.db import async_url, get_session, make_engine, write_transaction
from service.models import Base, Role

from .conftest import migrate
from .fixtures import Client, Csrf, Login, MakeUser, SignedIn, Submit


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("sqlite:///instance/x.sqlite", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///x.sqlite", "sqlite+aiosqlite"),
        ("postgresql://u:p%25w@db/flasky", "postgresql+asyncpg"),
        ("postgres://u@db/flasky", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@db/flasky", "postgresql+asyncpg"),
    ],
)
def test_plain_urls_map_to_async_drivers(given: str, driver: str) -> None:
    assert async_url(given).drivername == driver


def test_percent_in_password_survives() -> None:
    assert async_url("postgresql://u:p%25w@db/flasky").password == "p%w"


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.sqlite'}")
    async with engine.connect() as conn:
        assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
        assert (await conn.scalar(text("PRAGMA busy_timeout"))) == 10000
        assert (await conn.scalar(text("PRAGMA foreign_keys"))) == 1
    await engine.dispose()


async def test_slow_queries_are_logged_with_their_statement(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'slow.sqlite'}", slow_query_time=0.0)
    with caplog.at_level(logging.WARNING, logger="flasky.db"):
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 42"))
    await engine.dispose()
    assert any("SELECT 42" in record.getMessage() for record in caplog.records)


async def test_one_session_per_request_closed_at_teardown(app: Quart) -> None:
    async with app.test_request_context("/"):
        session = get_session()
        assert get_session() is session
        await session.execute(text("SELECT 1"))
        assert session.in_transaction()
    assert not session.in_transaction()


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """SQLite's write lock is what this module tests: its app runs on a SQLite file
    even when the rest of the suite runs on PostgreSQL (`TEST_DATABASE_URL`)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite-locks') / 'flasky-test.sqlite'}"
    migrate(url)
    return url


async def _setup_counter_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)"))
        await conn.execute(text("INSERT INTO counter (id, n) VALUES (1, 0)"))


async def _bump(session: AsyncSession) -> None:
    await session.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))


async def test_a_write_after_a_read_fails_at_once_in_a_deferred_transaction(tmp_path: Path) -> None:
    """Why writes need `write_transaction`: the busy timeout does not help a stale reader."""
    engine = make_engine(f"sqlite:///{tmp_path / 'stale.sqlite'}")
    await _setup_counter_table(engine)
    factory = async_sessionmaker(engine)
    async with factory() as reader, factory() as other:
        assert await reader.scalar(text("SELECT n FROM counter")) == 0  # deferred BEGIN
        async with write_transaction(other):
            await _bump(other)
        # Nobody holds the write lock now, so a wait (busy timeout) would have let
        # the write through; it is refused because the reader's snapshot is stale.
        with pytest.raises(OperationalError, match="database is locked"):
            await _bump(reader)
    await engine.dispose()


async def test_write_transaction_after_a_read_sees_and_keeps_the_other_write(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    await _setup_counter_table(engine)
    factory = async_sessionmaker(engine)
    async with factory() as reader, factory() as other:
        assert await reader.scalar(text("SELECT n FROM counter")) == 0
        async with write_transaction(other):
            await _bump(other)
        async with write_transaction(reader):
            await _bump(reader)
        assert await reader.scalar(text("SELECT n FROM counter")) == 2
    await engine.dispose()


async def test_write_transaction_waits_for_the_lock_instead_of_failing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wait.sqlite'}")
    await _setup_counter_table(engine)
    factory = async_sessionmaker(engine)
    holding, releasing = asyncio.Event(), asyncio.Event()

    async def hold_the_lock() -> None:
        async with factory() as session, write_transaction(session):
            await _bump(session)
            holding.set()
            await releasing.wait()

    async def write_meanwhile() -> None:
        async with factory() as session:
            await session.scalar(text("SELECT n FROM counter"))  # a read first, as views do
            await holding.wait()
            asyncio.get_running_loop().call_later(0.3, releasing.set)
            async with write_transaction(session):
                await _bump(session)

    await asyncio.gather(hold_the_lock(), write_meanwhile())
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT n FROM counter")) == 2
    await engine.dispose()


async def test_write_transaction_refuses_changes_made_before_it(tmp_path: Path) -> None:
    """Pending changes would be flushed in the read transaction, the very thing to avoid."""
    engine = make_engine(f"sqlite:///{tmp_path / 'early.sqlite'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        await conn.execute(
            text("INSERT INTO roles (name, \"default\", permissions) VALUES ('User', 1, 7)")
        )
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        role = await session.scalar(select(Role))
        assert role is not None
        role.permissions = 1
        with pytest.raises(RuntimeError, match="belong inside it"):
            async with write_transaction(session):
                pass
    await engine.dispose()


def _writes_without_the_lock(statements: list[str]) -> list[str]:
    """Each INSERT/UPDATE/DELETE whose transaction did not begin with BEGIN IMMEDIATE."""
    begin, unlocked = None, []
    for statement in statements:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb == "BEGIN":
            begin = statement.strip().upper()
        elif verb in {"COMMIT", "ROLLBACK"}:
            begin = None
        elif verb in {"INSERT", "UPDATE", "DELETE"} and begin != "BEGIN IMMEDIATE":
            unlocked.append(statement)
    return unlocked


@pytest.fixture
def statement_log(app: Quart) -> Iterator[list[str]]:
    """Every statement SQLite runs for the app, BEGINs, COMMITs and ROLLBACKs included, in order.

    Recorded by sqlite3's trace callback on each connection the app takes
    from its pool: what SQLite executes, not what SQLAlchemy was asked to.
    """
    statements: list[str] = []
    engine = app.extensions["db_engine"].sync_engine
    traced: list[Any] = []

    def tracing(connection: Any, callback: Any) -> None:
        # Under the lock every job on the connection holds (service.sqlite_driver):
        # a reader's rollback may be running on another thread.
        with connection.lock, contextlib.suppress(sqlite3.ProgrammingError):  # closed since
            connection._connection._conn.set_trace_callback(callback)  # aiosqlite's sqlite3 one

    def trace(connection: Any, _record: object, _proxy: object) -> None:
        tracing(connection, statements.append)
        traced.append(connection)

    event.listen(engine, "checkout", trace)
    yield statements
    event.remove(engine, "checkout", trace)
    for connection in traced:
        tracing(connection, None)


async def test_login_writes_under_begin_immediate(
    client: Client, make_user: MakeUser, login: Login, statement_log: list[str]
) -> None:
    await make_user("john")
    statement_log.clear()  # the arranging session's own writes are not under test
    response = await login(client, "john@flasky.dev")
    assert response.status_code == 302
    assert any(s.lstrip().upper().startswith("INSERT") for s in statement_log)  # the throttle row
    assert _writes_without_the_lock(statement_log) == []


async def test_failed_login_writes_under_begin_immediate(
    client: Client, make_user: MakeUser, login: Login, statement_log: list[str]
) -> None:
    await make_user("john")
    statement_log.clear()  # the arranging session's own writes are not under test
    response = await login(client, "john@flasky.dev", "wrong-password")
    assert response.status_code == 200
    assert any(s.lstrip().upper().startswith("DELETE") for s in statement_log)
    assert _writes_without_the_lock(statement_log) == []


async def test_register_writes_under_begin_immediate(
    client: Client, submit: Submit, statement_log: list[str]
) -> None:
    form = {
        "email": "new@flasky.dev",
        "username": "newcomer",
        "password": "cat-password",
        "password2": "cat-password",
    }
    response = await submit(client, "/auth/register", form)
    assert response.status_code == 302
    assert any(s.lstrip().upper().startswith("INSERT INTO USERS") for s in statement_log)
    assert _writes_without_the_lock(statement_log) == []


async def test_posting_writes_under_begin_immediate(
    client: Client,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
    statement_log: list[str],
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        token = await csrf(client, "/")
        statement_log.clear()
        response = await client.post("/", form={"body": "Hello", "csrf_token": token})
    assert response.status_code == 302
    assert any(s.lstrip().upper().startswith("INSERT INTO POSTS") for s in statement_log)
    assert _writes_without_the_lock(statement_log) == []


async def test_pool_size_settings_size_the_postgresql_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    # The engine connects lazily: no server is needed to see its pool.
    monkeypatch.setenv("DATABASE_URL", "postgresql://flasky@127.0.0.1:1/flasky")
    monkeypatch.setenv("DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("DATABASE_MAX_OVERFLOW", "0")
    app = create_app(load_config("testing"))
    pool = app.extensions["db_engine"].pool
    await app.extensions["db_engine"].dispose()
    assert pool.size() == 3
    assert pool._max_overflow == 0  # the pool exposes no reader for it
