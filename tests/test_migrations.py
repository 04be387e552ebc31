"""Alembic builds exactly the models' schema, and every migration goes down and up again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from service.db import async_url
from service.models import Base, Post
from service.search import Query, posts_matching
from service.search_index import POSTGRESQL_USER_INDEXES, is_search_object
from tests.conftest import ROOT


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(async_url(url), isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.exec_driver_sql(sql)
    await engine.dispose()


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind under test: a new SQLite file or a new PostgreSQL database."""
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    name = f"flasky_migrations_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server, f'CREATE DATABASE "{name}"'))
    yield str(async_url(server).set(database=name).render_as_string(hide_password=False))
    asyncio.run(_admin(server, f'DROP DATABASE "{name}" WITH (FORCE)'))


def alembic(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the `alembic` command line as an operator would."""
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def execute(url: str, script: str) -> None:
    """Run the `;`-separated SQL statements of `script` in one transaction."""

    async def run() -> None:
        engine = create_async_engine(async_url(url))
        async with engine.begin() as conn:
            for statement in filter(None, script.split(";")):
                await conn.exec_driver_sql(statement)
        await engine.dispose()

    asyncio.run(run())


def table_names(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = create_async_engine(async_url(url))
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        await engine.dispose()
        return names

    return asyncio.run(read())


def test_upgrade_builds_the_models_schema_without_drift(empty_database: str) -> None:
    upgrade = alembic(empty_database, "upgrade", "head")
    assert upgrade.returncode == 0, upgrade.stderr
    check = alembic(empty_database, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    assert set(Base.metadata.tables) <= table_names(empty_database)


def test_downgrade_to_base_and_upgrade_again(empty_database: str) -> None:
    assert alembic(empty_database, "upgrade", "head").returncode == 0
    down = alembic(empty_database, "downgrade", "base")
    assert down.returncode == 0, down.stderr
    assert table_names(empty_database) <= {"alembic_version"}
    up = alembic(empty_database, "upgrade", "head")
    assert up.returncode == 0, up.stderr
    assert set(Base.metadata.tables) <= table_names(empty_database)


def test_upgrades_keep_existing_rows(empty_database: str) -> None:
    """Every migration after the first runs on a database with data and loses none of it."""
    assert alembic(empty_database, "upgrade", "0001").returncode == 0
    script = (
        "INSERT INTO roles (name, \"default\", permissions) VALUES ('User', true, 7);"
        "INSERT INTO users (id, email, username, confirmed, member_since, last_seen, role_id,"
        " session_generation) SELECT 1, 'a@flasky.dev', 'a', true, '2026-01-01 00:00:00',"
        " '2026-01-01 00:00:00', id, 0 FROM roles WHERE name = 'User';"
        "INSERT INTO posts (id, body, body_html, timestamp, author_id) VALUES"
        " (1, 'b', '<p>b</p>', '2026-01-01 00:00:00', 1);"
        "INSERT INTO comments (id, body, body_html, timestamp, disabled, author_id, post_id)"
        " VALUES (1, 'c', 'c', '2026-01-01 00:00:00', false, 1, 1);"
    )

    async def count(table: str) -> int:
        engine = create_async_engine(async_url(empty_database))
        async with engine.connect() as conn:
            total = await conn.scalar(text(f"SELECT count(*) FROM {table}"))  # noqa: S608
        await engine.dispose()
        return int(total or 0)

    execute(empty_database, script)
    upgrade = alembic(empty_database, "upgrade", "head")
    assert upgrade.returncode == 0, upgrade.stderr
    for table in ("users", "posts", "comments"):
        assert asyncio.run(count(table)) == 1, table
    # The role that existed is kept, not duplicated; the missing standard roles are added.
    assert asyncio.run(count("roles")) == 3


def test_upgrade_alone_creates_the_standard_roles(empty_database: str) -> None:
    assert alembic(empty_database, "upgrade", "head").returncode == 0

    async def roles() -> dict[str, tuple[bool, int]]:
        engine = create_async_engine(async_url(empty_database))
        async with engine.connect() as conn:
            rows = await conn.execute(text('SELECT name, "default", permissions FROM roles'))
            found = {name: (bool(default), permissions) for name, default, permissions in rows}
        await engine.dispose()
        return found

    assert asyncio.run(roles()) == {
        "User": (True, 7),
        "Moderator": (False, 15),
        "Administrator": (False, 31),
    }


def search(url: str, query: str) -> list[int]:
    """The ids of the posts the app's search finds for `query`, straight from the database."""

    async def run() -> list[int]:
        engine = create_async_engine(async_url(url))
        async with engine.connect() as conn:
            condition = posts_matching(Query.parse(query), conn.dialect.name)
            ids = await conn.scalars(select(Post.id).where(condition).order_by(Post.id))
            found = list(ids)
        await engine.dispose()
        return found

    return asyncio.run(run())


def search_objects(url: str) -> set[str]:
    """The search index's tables (SQLite) and indexes (PostgreSQL) the database holds."""

    async def read() -> set[str]:
        engine = create_async_engine(async_url(url))
        async with engine.connect() as conn:

            def names(sync: Any) -> set[str]:
                inspector = inspect(sync)
                indexes = [
                    index["name"]
                    for table in ("posts", "users")
                    for index in inspector.get_indexes(table)
                ]
                return {n for n in [*inspector.get_table_names(), *indexes] if is_search_object(n)}

            found = await conn.run_sync(names)
        await engine.dispose()
        return found

    return asyncio.run(read())


def test_search_index_is_filled_from_existing_posts_and_goes_down_and_up(
    empty_database: str,
) -> None:
    assert alembic(empty_database, "upgrade", "0004").returncode == 0
    execute(
        empty_database,
        "INSERT INTO users (id, email, username, confirmed, member_since, last_seen,"
        " session_generation) VALUES (1, 'a@flasky.dev', 'a', true, '2026-01-01 00:00:00',"
        " '2026-01-01 00:00:00', 0);"
        "INSERT INTO posts (id, body, body_html, timestamp, author_id) VALUES"
        " (1, '今天天气非常好', '', '2026-01-01 00:00:00', 1),"
        " (2, 'All about Flask', '', '2026-01-01 00:00:00', 1)",
    )
    for step in ("upgrade head", "downgrade 0004", "upgrade head"):
        result = alembic(empty_database, *step.split())
        assert result.returncode == 0, result.stderr
        if step.startswith("downgrade"):
            assert search_objects(empty_database) == set()
    assert search_objects(empty_database)
    if empty_database.startswith("postgresql"):
        assert set(POSTGRESQL_USER_INDEXES) <= search_objects(empty_database)
    assert search(empty_database, "天气非") == [1]
    assert search(empty_database, "天气") == [1]
    assert search(empty_database, "FLASK") == [2]
    # The triggers are back too: a post written now is found at once.
    execute(
        empty_database,
        "INSERT INTO posts (id, body, body_html, timestamp, author_id) VALUES"
        " (3, 'More Flask', '', '2026-01-02 00:00:00', 1)",
    )
    assert search(empty_database, "flask") == [2, 3]
