"""SQLite through `service.sqlite_driver`: one trip to the driver's thread per statement."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from service import sqlite_driver
from service.db import make_engine, write_transaction
from service.sqlite_reads import ReadThread


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'driver.sqlite'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every function sent to a driver thread and waited for, from now on.

    A connection's own aiosqlite thread, or the readers' (service.sqlite_reads).
    """
    sent: list[str] = []
    queue = aiosqlite.Connection._execute
    run = ReadThread.run

    async def counted(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Any:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await queue(self, fn, *args)

    def counted_read(self: ReadThread, lock: Any, fn: Callable[..., Any], *args: Any) -> Any:
        sent.append(f"read:{fn.__name__}")
        return run(self, lock, fn, *args)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    monkeypatch.setattr(ReadThread, "run", counted_read)
    return sent


async def test_a_read_is_a_trip_a_statement_and_its_rollback_is_not_waited_for(
    engine: AsyncEngine, trips: list[str]
) -> None:
    sessions = async_sessionmaker(engine)
    async with sessions() as session:  # a pooled connection, as a request finds it
        await session.execute(text("SELECT 1"))
    trips.clear()
    async with sessions() as session:
        assert (await session.execute(text("SELECT 41 + 1"))).scalar() == 42
        assert len(trips) == 1  # BEGIN and the statement
        await session.execute(text("SELECT 2"))
        assert len(trips) == 2
    # The session's rollback is queued on the driver's thread, no trip waited
    # for (the pool's own is skipped)...
    assert len(trips) == 2
    # ... and has run before the connection's next statement: its BEGIN would
    # fail inside a transaction still open.
    async with sessions() as session:
        assert (await session.execute(text("SELECT 3"))).scalar() == 3
    assert len(trips) == 3


async def test_a_transaction_that_wrote_waits_for_its_rollback(
    engine: AsyncEngine, trips: list[str]
) -> None:
    sessions = async_sessionmaker(engine)
    with pytest.raises(LookupError):
        async with sessions() as session, write_transaction(session):
            await session.execute(text("INSERT INTO t (name) VALUES ('a')"))
            trips.clear()
            raise LookupError
    assert trips == ["rollback"]
    async with sessions() as session:
        assert (await session.scalar(text("SELECT count(*) FROM t"))) == 0


async def test_a_read_sees_one_snapshot_so_its_begin_was_sent(engine: AsyncEngine) -> None:
    sessions = async_sessionmaker(engine)
    async with sessions() as reader, sessions() as writer:
        assert (await reader.scalar(text("SELECT count(*) FROM t"))) == 0
        async with write_transaction(writer):
            await writer.execute(text("INSERT INTO t (name) VALUES ('a')"))
        # Without a transaction the reader would see the committed row.
        assert (await reader.scalar(text("SELECT count(*) FROM t"))) == 0
    async with sessions() as later:
        assert (await later.scalar(text("SELECT count(*) FROM t"))) == 1


async def test_rowcount_lastrowid_executemany_and_errors(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        names = [{"name": name} for name in "abc"]
        await conn.execute(text("INSERT INTO t (name) VALUES (:name)"), names)
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('d')"))
        assert inserted.lastrowid == 4
        updated = await conn.execute(text("UPDATE t SET name = name || '!' WHERE id <= 2"))
        assert updated.rowcount == 2
        rows = await conn.execute(text("SELECT id, name FROM t ORDER BY id"))
        assert rows.all() == [(1, "a!"), (2, "b!"), (3, "c"), (4, "d")]
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO t (name) VALUES ('c')"))
    async with engine.connect() as conn:
        assert (await conn.scalar(text("SELECT count(*) FROM t"))) == 4


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread that ran each statement, from now on."""
    names: list[str] = []
    run = sqlite_driver._run

    def recorded(*args: Any) -> Any:
        names.append(threading.current_thread().name)
        return run(*args)

    monkeypatch.setattr(sqlite_driver, "_run", recorded)
    return names


async def test_every_connections_reads_share_a_thread_and_writes_keep_their_own(
    engine: AsyncEngine, threads: list[str]
) -> None:
    sessions = async_sessionmaker(engine)
    for _ in range(2):  # two connections at once, the second time pooled
        threads.clear()
        async with sessions() as first, sessions() as second:
            await first.execute(text("SELECT 1"))
            await second.execute(text("SELECT 2"))
            assert (await first.scalar(text("SELECT count(*) FROM t"))) == 0
    assert threads == ["flasky-sqlite-reads"] * 3
    threads.clear()
    async with sessions() as session, write_transaction(session):
        await session.execute(text("INSERT INTO t (name) VALUES ('a')"))
        assert (await session.scalar(text("SELECT count(*) FROM t"))) == 1
    assert len(threads) == 3 and "flasky-sqlite-reads" not in threads


async def _read_then_write(sessions: async_sessionmaker[AsyncSession]) -> None:
    """A read, then a write on the same session's connection; a later read sees the row."""
    async with sessions() as session:
        assert (await session.scalar(text("SELECT count(*) FROM t"))) == 0
        # The read transaction ends; a write on the same connection begins at
        # once. BEGIN IMMEDIATE inside the reader's open transaction would fail.
        async with write_transaction(session):
            await session.execute(text("INSERT INTO t (name) VALUES ('a')"))
    async with sessions() as session:
        assert (await session.scalar(text("SELECT count(*) FROM t"))) == 1


async def test_a_write_after_a_read_on_its_connection_waits_for_the_reads_rollback(
    engine: AsyncEngine,
) -> None:
    await _read_then_write(async_sessionmaker(engine))


async def test_a_read_cancelled_midway_leaves_its_connection_to_the_pool_safely(
    engine: AsyncEngine,
) -> None:
    # Cancelled while its statement runs on the readers' thread, the request's
    # connection is invalidated, and closed on its own thread: the close waits
    # for the statement (the connection's lock), and the pool goes on.
    slow = text(
        "SELECT (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c"
        " WHERE x < 2000000) SELECT count(*) FROM c)"
    )
    sessions = async_sessionmaker(engine)

    async def read() -> None:
        async with sessions() as session:
            await session.execute(slow)

    for _ in range(3):
        task = asyncio.create_task(read())
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await _read_then_write(sessions)


async def test_a_worker_keeps_a_connection_for_each_request_it_serves_at_once(
    engine: AsyncEngine,
) -> None:
    # SQLAlchemy's default pool for SQLite keeps 5 and closes the rest when
    # they come back: a busy worker then opened a connection every few requests.
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda connection, _record: opened.append(1))
    sessions = async_sessionmaker(engine)

    async def burst(requests: int) -> None:
        holding = 0
        all_hold = asyncio.Event()

        async def read() -> None:
            nonlocal holding
            async with sessions() as session:
                await session.execute(text("SELECT 1"))
                holding += 1
                if holding == requests:
                    all_hold.set()
                await all_hold.wait()  # every request holds its connection at once

        await asyncio.gather(*(read() for _ in range(requests)))

    await burst(24)
    assert len(opened) >= 23  # one was open already, since the table was made
    opened.clear()
    await burst(24)
    assert opened == []


async def test_the_engine_has_no_listeners_of_its_statements(engine: AsyncEngine) -> None:
    # The BEGINs and the slow-query log live in the dialect and the driver:
    # an engine with any listener of its connection events takes SQLAlchemy's
    # event path on every statement (service/sqlite_driver.py).
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    assert not engine.sync_engine._has_events
