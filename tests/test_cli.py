"""The `flasky` command, run as an operator would."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from service.db import async_url
from service.models import Comment, Follow, Post, Role, User
from tests.conftest import ROOT


@pytest.fixture
def cli_database(tmp_path: Path) -> str:
    """A database of its own (SQLite file), so the command never touches the tests' one."""
    return f"sqlite:///{tmp_path / 'cli.sqlite'}"


def flasky(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "FLASKY_CONFIG": "testing"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def count_rows(url: str, model: type) -> int:
    async def count() -> int:
        engine = create_async_engine(async_url(url))
        async with engine.connect() as conn:
            total = await conn.scalar(select(func.count()).select_from(model))
        await engine.dispose()
        return int(total or 0)

    return asyncio.run(count())


def test_deploy_migrates_and_creates_roles_then_changes_nothing(cli_database: str) -> None:
    first = flasky(cli_database, "deploy")
    assert first.returncode == 0, first.stderr
    assert "Database upgraded" in first.stdout
    assert count_rows(cli_database, Role) == 3
    second = flasky(cli_database, "deploy")
    assert second.returncode == 0, second.stderr
    assert "roles unchanged" in second.stdout
    assert count_rows(cli_database, Role) == 3


def test_deploy_repairs_changed_roles(cli_database: str) -> None:
    assert flasky(cli_database, "deploy").returncode == 0

    async def break_a_role() -> None:
        engine = create_async_engine(async_url(cli_database))
        async with engine.begin() as conn:
            await conn.execute(update(Role).where(Role.name == "User").values(permissions=0))
        await engine.dispose()

    asyncio.run(break_a_role())
    repaired = flasky(cli_database, "deploy")
    assert repaired.returncode == 0, repaired.stderr
    assert "roles created or updated" in repaired.stdout


def test_fake_fills_every_table(cli_database: str) -> None:
    assert flasky(cli_database, "deploy").returncode == 0
    result = flasky(cli_database, "fake", "--users", "12", "--posts", "40", "--comments", "60")
    assert result.returncode == 0, result.stderr
    assert count_rows(cli_database, User) == 12
    assert count_rows(cli_database, Post) == 40
    assert count_rows(cli_database, Comment) == 60
    assert count_rows(cli_database, Follow) > 0


def test_create_admin(cli_database: str) -> None:
    assert flasky(cli_database, "deploy").returncode == 0
    result = flasky(
        cli_database,
        "create-admin",
        "--email",
        "Root@Flasky.dev",
        "--username",
        "root",
        "--password",
        "long-enough-password",
    )
    assert result.returncode == 0, result.stderr
    assert count_rows(cli_database, User) == 1
    again = flasky(
        cli_database, "create-admin", "--email", "root@flasky.dev", "--username", "root2",
        "--password", "long-enough-password",
    )  # fmt: skip
    assert again.returncode != 0
    assert "taken" in again.stderr


def test_routes_lists_the_urls(cli_database: str) -> None:
    result = flasky(cli_database, "routes")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("/auth/login ") and "auth.login" in line for line in lines)
    assert any(line.startswith("/ ") and "main.index" in line for line in lines)
