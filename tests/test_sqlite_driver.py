"""SQLite through `service.sqlite_driver`: one trip to the driver's thread per statement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from service.db import make_engine, write_transaction


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'driver.sqlite'}")
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"))
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every function sent to an aiosqlite thread from now on."""
    sent: list[str] = []
    queue = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Any:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await queue(self, fn, *args)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
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
