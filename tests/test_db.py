"""The database layer: URL mapping, SQLite pragmas, per-request sessions, slow-query log."""

from __future__ import annotations

import logging

import pytest
from quart import Quart
from sqlalchemy import text

from service.db import async_url, get_session, make_engine


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


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.sqlite'}")
    async with engine.connect() as conn:
        assert (await conn.scalar(text("PRAGMA journal_mode"))) == "wal"
        assert (await conn.scalar(text("PRAGMA busy_timeout"))) == 10000
        assert (await conn.scalar(text("PRAGMA foreign_keys"))) == 1
    await engine.dispose()


async def test_slow_queries_are_logged_with_their_statement(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
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
