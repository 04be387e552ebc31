"""The `flasky` command, run as an operator would."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from service import models
from service.auth.forms import USERNAME_PATTERN
from service.cli import create_cli_app
from service.db import async_url
from service.models import Comment, Follow, Post, Role, User
from service.passwords import MAX_LENGTH
from tests.conftest import ROOT
from tests.fixtures import Client, Submit


@pytest.fixture
def cli_database(tmp_path: Path) -> str:
    """A database of its own (SQLite file), so the command never touches the tests' one."""
    return f"sqlite:///{tmp_path / 'cli.sqlite'}"


def flasky(
    url: str, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from service.cli import main; main()", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url, "FLASKY_CONFIG": "testing", **env},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def routes_table(output: str) -> set[tuple[str, str]]:
    """(endpoint, rule) pairs from `flasky routes` (columns: endpoint, methods, rule)."""
    rows = set()
    for line in output.splitlines()[2:]:
        columns = line.split()
        rows.add((columns[0], columns[-1]))
    return rows


def assert_clean_exit(result: subprocess.CompletedProcess[str]) -> None:
    """No traceback, and nothing left for the garbage collector to fail on at exit.

    A connection that outlives its event loop shows up as "Exception ignored
    in ...: RuntimeError: Event loop is closed" on stderr, with exit status 0.
    """
    assert result.returncode == 0, result.stderr
    for sign in ("Traceback", "Exception ignored", "Event loop is closed", "Warning"):
        assert sign not in result.stderr, result.stderr


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


def test_fake_in_chinese_keeps_usernames_latin(cli_database: str) -> None:
    assert flasky(cli_database, "deploy").returncode == 0
    result = flasky(cli_database, "fake", "--users", "5", "--posts", "10", "--locale", "zh_CN")
    assert_clean_exit(result)

    async def read() -> list[tuple[str, str | None, str]]:
        engine = create_async_engine(async_url(cli_database))
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(User.username, User.name, Post.body).join(Post, Post.author_id == User.id)
            )
            found = [(username, name, body) for username, name, body in rows]
        await engine.dispose()
        return found

    rows = asyncio.run(read())
    assert len(rows) == 10
    for username, name, body in rows:
        assert re.fullmatch(USERNAME_PATTERN, username)
        assert re.search(r"[\u4e00-\u9fff]", name or "") and re.search(r"[\u4e00-\u9fff]", body)


def test_fake_refuses_a_locale_it_has_no_texts_for(cli_database: str) -> None:
    assert flasky(cli_database, "deploy").returncode == 0
    result = flasky(cli_database, "fake", "--users", "1", "--locale", "xx_XX")
    assert result.returncode == 2
    assert "Invalid value for '--locale'" in result.stderr and "zh_CN" in result.stderr


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
    rows = routes_table(result.stdout)
    assert ("auth.login", "/auth/login") in rows
    assert ("main.index", "/") in rows


@pytest.mark.parametrize(
    "password", ["short", "p" * (MAX_LENGTH + 1)], ids=["too short", "too long"]
)
async def test_create_admin_refuses_a_password_as_registration_does(
    cli_database: str, client: Client, submit: Submit, password: str
) -> None:
    assert flasky(cli_database, "deploy").returncode == 0
    result = flasky(
        cli_database, "create-admin", "--email", "root@flasky.dev", "--username", "root",
        "--password", password,
    )  # fmt: skip
    assert result.returncode != 0
    assert await asyncio.to_thread(count_rows, cli_database, User) == 0
    prefix = "Error: Invalid value for '--password': "
    [message] = [
        line[len(prefix) :] for line in result.stderr.splitlines() if line.startswith(prefix)
    ]
    assert "8" in message and str(MAX_LENGTH) in message
    form = {"email": "root@flasky.dev", "username": "root", "password": password}
    page = await submit(client, "/auth/register", {**form, "password2": password})
    assert message in await page.get_data(as_text=True)


def test_create_admin_refuses_a_username_taken_in_another_case(cli_database: str) -> None:
    assert flasky(cli_database, "deploy").returncode == 0
    args = ("--password", "long-enough-password")
    first = flasky(
        cli_database, "create-admin", "--email", "a@flasky.dev", "--username", "root", *args
    )
    assert_clean_exit(first)
    again = flasky(
        cli_database, "create-admin", "--email", "b@flasky.dev", "--username", "ROOT", *args
    )
    assert again.returncode != 0
    assert "Username already in use." in again.stderr
    assert count_rows(cli_database, User) == 1

    async def admin() -> tuple[str, bool]:
        engine = create_async_engine(async_url(cli_database))
        async with engine.connect() as conn:
            query = select(Role.name, User.confirmed).join(User.role).where(User.username == "root")
            row = (await conn.execute(query)).one()
        await engine.dispose()
        return row[0], row[1]

    assert asyncio.run(admin()) == ("Administrator", True)


def test_database_commands_leave_nothing_behind_at_exit(cli_database: str) -> None:
    assert_clean_exit(flasky(cli_database, "deploy", PYTHONWARNINGS="error"))
    assert_clean_exit(
        flasky(cli_database, "fake", "--users", "3", "--posts", "3", PYTHONWARNINGS="error")
    )


def test_routes_lists_the_api(cli_database: str) -> None:
    result = flasky(cli_database, "routes")
    assert_clean_exit(result)
    assert ("api.get_posts", "/api/v1/posts/") in routes_table(result.stdout)


def test_flasky_runs_from_any_directory_without_an_app_variable(
    cli_database: str, tmp_path: Path
) -> None:
    script = Path(sys.executable).with_name("flasky")
    if not script.exists():
        pytest.skip("the flasky console script is not installed in this environment")
    env = {k: v for k, v in os.environ.items() if k not in {"QUART_APP", "FLASKY_APP"}}
    result = subprocess.run(
        [str(script), "deploy"],
        cwd=tmp_path,
        env={**env, "DATABASE_URL": cli_database, "FLASKY_CONFIG": "testing"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_clean_exit(result)
    assert count_rows(cli_database, Role) == 3


def test_a_configuration_error_is_a_message_not_a_traceback(cli_database: str) -> None:
    result = flasky(cli_database, "deploy", FLASKY_CONFIG="production", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr


async def test_shell_context_offers_the_models_and_a_session(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The suite's database, so that this runs on PostgreSQL too when it is
    # configured: there a connection must be closed on the loop that opened it.
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("FLASKY_CONFIG", "testing")
    app = create_cli_app()
    try:
        async with app.app_context():
            context = app.make_shell_context()
            for name in ("User", "Role", "Permission", "Post", "Comment", "Follow"):
                assert context[name] is getattr(models, name)
            assert context["app"] is app
            query = context["select"](context["func"].count(context["Role"].id))
            # Leaves the session's transaction open: leaving the context ends it.
            assert context["run"](context["session"].scalar(query)) == 3
    finally:
        await app.extensions["db_engine"].dispose()


def test_shell_runs_queries_and_commits(cli_database: str) -> None:
    assert flasky(cli_database, "deploy").returncode == 0
    lines = [
        "role = run(session.scalar(select(Role).where(Role.name == 'Moderator')))",
        "role.permissions = 0",
        "run(session.commit())",
        "print('roles:', run(session.scalar(select(func.count(Role.id)))))",
        # Left open on purpose: the shell must still end it cleanly.
        "run(session.scalar(select(User.id)))",
    ]
    result = flasky(cli_database, "shell", stdin="\n".join(lines) + "\n", PYTHONWARNINGS="error")
    assert_clean_exit(result)
    assert "roles: 3" in result.stdout
    repaired = flasky(cli_database, "deploy")
    assert "roles created or updated" in repaired.stdout
