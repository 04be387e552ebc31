"""Alembic builds exactly the models' schema, and every migration goes down and up again."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from service.db import async_url
from service.models import Base
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
