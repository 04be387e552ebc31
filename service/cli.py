"""The `flasky` command: deploy, fake data, an administrator, routes and a shell.

Built on Quart's own command line (`QuartGroup`): every command runs inside
the app's context, on the app's engine and per-context session, with the
same configuration the server reads from the environment. `routes` and
`shell` are Quart's; the shell's namespace comes from `_shell_context`.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import click
import sqlalchemy
from quart import Quart, current_app, g
from quart.cli import NoAppException, QuartGroup, ScriptInfo
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from . import create_app, models
from .auth.accounts import create_account
from .auth.forms import RegistrationForm
from .config import ConfigError, current_config
from .db import get_session, write_transaction
from .fake import LOCALES, FakeData
from .models import Role
from .paths import ALEMBIC_INI

T = TypeVar("T")


def create_cli_app() -> Quart:
    """The app the commands run in: `create_app()` plus the shell's namespace.

    A configuration error becomes Quart's "no app" error, so the command
    prints the message (e.g. SECRET_KEY missing) instead of a traceback.
    """
    try:
        app = create_app()
    except ConfigError as error:
        raise NoAppException(str(error)) from None
    app.shell_context_processor(_shell_context)
    # The shell's database work ran on its own loop (see `_ShellLoop`), so it
    # must be finished there before the app's own teardown closes the session
    # on this one: hence first in line.
    app.teardown_appcontext_funcs.insert(0, _close_shell_loop)
    return app


def _engine(app: Quart) -> AsyncEngine:
    engine: AsyncEngine = app.extensions["db_engine"]
    return engine


def async_command(
    work: Callable[..., Coroutine[Any, Any, T]],
) -> Callable[..., T]:
    """Run an async command body in the app context, then dispose of the engine.

    Quart's `with_appcontext` calls the body synchronously inside its own
    event loop, where a coroutine could not be awaited. Disposing of the
    engine on the loop that opened its connections is what keeps aiosqlite
    and asyncpg from complaining about a closed event loop at exit.
    """

    @click.pass_obj
    @functools.wraps(work)
    def command(info: ScriptInfo, *args: Any, **kwargs: Any) -> T:
        app = info.load_app()

        async def run() -> T:
            try:
                async with app.app_context():
                    return await work(*args, **kwargs)
            finally:
                await _engine(app).dispose()

        return asyncio.run(run())

    return command


main = QuartGroup(
    name="flasky",
    help="Flasky, async: manage the application.",
    create_app=create_cli_app,
    # The environment alone configures the app, as it does for hypercorn;
    # and `FLASKY_CONFIG` decides debug mode, not `QUART_DEBUG`.
    load_dotenv=False,
    set_debug_flag=False,
)
# Quart's group options that would mislead here: the app is always
# `create_cli_app()` (`--app` would be ignored), the environment is not read
# from files (`--env-file`), and `--debug` is already an option of `run`, the
# only command it changes.
main.params = [param for param in main.params if param.name not in {"app", "env_file", "debug"}]


@main.command()
@async_command
async def deploy() -> None:
    """Upgrade the database to the latest migration and create or update the roles."""
    from alembic.config import Config as AlembicConfig

    from alembic import command

    alembic_config = AlembicConfig(str(ALEMBIC_INI))
    alembic_config.attributes["configure_logger"] = False
    alembic_config.attributes["database_url"] = current_config().database_url
    # Alembic's async environment runs its own event loop: give it a thread.
    await asyncio.to_thread(command.upgrade, alembic_config, "head")

    async with write_transaction(get_session()) as session:
        changed = await Role.insert_roles(session)
    click.echo("Database upgraded; roles " + ("created or updated." if changed else "unchanged."))


@main.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--username", prompt=True)
@click.password_option()
@async_command
async def create_admin(email: str, username: str, password: str) -> None:
    """Create a confirmed Administrator account.

    The input passes the registration form's own checks, so the rules and
    messages (password length, username characters, addresses and names
    already taken) are the ones a visitor meets at /auth/register.
    """
    form = RegistrationForm(
        data={"email": email, "username": username, "password": password, "password2": password}
    )
    if not form.validate():
        field, errors = next(iter(form.errors.items()))
        raise click.BadParameter(" ".join(errors), param_hint=f"'--{field}'")
    if not await form.validate_async():
        errors = [error for field_errors in form.errors.values() for error in field_errors]
        raise click.ClickException(
            "That e-mail address or username is taken: " + " ".join(map(str, errors))
        )

    session = get_session()
    async with write_transaction(session):
        await Role.insert_roles(session)
    administrator = await session.scalar(select(Role).where(Role.name == "Administrator"))
    try:
        user = await create_account(session, form.email.data, form.username.data, password)
    except IntegrityError:
        # Someone registered the same address or name since the check.
        raise click.ClickException("That e-mail address or username is taken.") from None
    # Registration's account, then promoted: what an administrator would do
    # at /edit-profile/<id> for an account that registered.
    async with write_transaction(session):
        user.role = administrator
        user.confirmed = True
    click.echo(f"Administrator {user.username} created.")


@main.command()
@click.option("--users", default=100, show_default=True, help="How many users to create.")
@click.option("--posts", default=2000, show_default=True, help="How many posts to create.")
@click.option("--comments", default=None, type=int, help="How many comments (default: posts x 2).")
@click.option(
    "--follows", default=None, type=int, help="Follows per user (default: 10 on average, skewed)."
)
@click.option("--seed", default=None, type=int, help="Random seed, for repeatable data.")
@click.option(
    "--locale",
    type=click.Choice(LOCALES),
    default="en_US",
    show_default=True,
    help="Language of names, places and texts (usernames stay Latin).",
)
@async_command
async def fake(
    users: int,
    posts: int,
    comments: int | None,
    follows: int | None,
    seed: int | None,
    locale: str,
) -> None:
    """Fill the database with realistic fake users, posts, comments and follows.

    Every fake user's password is "password". Bulk writes (COPY on
    PostgreSQL): a million posts take minutes, not hours.
    """
    started = time.monotonic()
    data = FakeData(get_session(), seed, locale)
    with click.progressbar(length=users, label="Users   ") as bar:
        await data.users(users, bar.update)
    comments = posts * 2 if comments is None else comments

    def building(indexes: int) -> None:
        click.echo(f"Building {indexes} indexes...")

    async with data.bulk_load(posts, building):
        with click.progressbar(length=posts, label="Posts   ") as bar:
            try:
                await data.posts(posts, bar.update)
            except LookupError as error:
                raise click.ClickException(str(error)) from None
        with click.progressbar(length=comments, label="Comments") as bar:
            comments = await data.comments(comments, bar.update)
        with click.progressbar(length=users, label="Follows ") as bar:
            followed = await data.follows(follows, bar.update)
    click.echo(
        f"Created {users} users, {posts} posts, {comments} comments, {followed} follows"
        f" in {time.monotonic() - started:.0f} s."
    )


class _ShellLoop:
    """An event loop in a thread of its own, for the shell's `run(coroutine)`.

    Quart's shell reads input inside the app context's event loop, which is
    therefore busy and cannot run anything else. Coroutines typed at the
    prompt run on this second loop instead; they see the same app context,
    because the context travels with each coroutine handed over.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, awaitable: Awaitable[T]) -> T:
        """Run `awaitable` to completion and return its result, e.g.

        `run(session.scalar(select(func.count(User.id))))`.
        """

        async def wait() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wait(), self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


def _shell_context() -> dict[str, Any]:
    """What `flasky shell` offers besides `app` and `g`: a session, the models, run()."""
    shell_loop = _ShellLoop()
    g.shell_loop = shell_loop
    return {
        "session": get_session(),
        "select": sqlalchemy.select,
        "func": sqlalchemy.func,
        "run": shell_loop.run,
        **{name: getattr(models, name) for name in models.__all__},
    }


async def _close_shell_loop(_exc: BaseException | None) -> None:
    """End the shell's database work on the loop that did it, then stop that loop."""
    shell_loop: _ShellLoop | None = g.pop("shell_loop", None)
    if shell_loop is None:
        return
    try:
        shell_loop.run(get_session().close())
        shell_loop.run(_engine(current_app).dispose())
    finally:
        shell_loop.close()
