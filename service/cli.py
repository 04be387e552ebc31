"""The `flasky` command: deploy, fake data, an administrator, routes and a shell."""

from __future__ import annotations

import asyncio
import code
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import click
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from .config import ConfigError, load_config
from .db import make_engine
from .markdown import render_comment, render_post
from .models import Comment, Follow, Post, Role, User, utcnow
from .passwords import hasher_for
from .paths import ALEMBIC_INI

T = TypeVar("T")


def _run_with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` with a session on the configured database, then dispose the engine."""
    config = load_config()

    async def runner() -> T:
        engine: AsyncEngine = make_engine(config.database_url, config.slow_db_query_time)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(runner())


@click.group()
def main() -> None:
    """Flasky, async: manage the application."""
    try:
        load_config()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@main.command()
def deploy() -> None:
    """Upgrade the database to the latest migration and create or update the roles."""
    from alembic.config import Config as AlembicConfig

    from alembic import command

    alembic_config = AlembicConfig(str(ALEMBIC_INI))
    alembic_config.attributes["configure_logger"] = False
    command.upgrade(alembic_config, "head")

    async def roles(session: AsyncSession) -> bool:
        changed = await Role.insert_roles(session)
        await session.commit()
        return changed

    changed = _run_with_session(roles)
    click.echo("Database upgraded; roles " + ("created or updated." if changed else "unchanged."))


@main.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--username", prompt=True)
@click.password_option()
def create_admin(email: str, username: str, password: str) -> None:
    """Create a confirmed Administrator account."""
    if len(password) < 8:
        raise click.BadParameter("at least 8 characters", param_hint="password")
    config = load_config()

    async def create(session: AsyncSession) -> None:
        await Role.insert_roles(session)
        await session.flush()
        role = await session.scalar(select(Role).where(Role.name == "Administrator"))
        password_hash = await asyncio.to_thread(hasher_for(config).hash, password)
        session.add(
            User(
                email=email.strip(),
                username=username.strip(),
                password_hash=password_hash,
                confirmed=True,
                role=role,
            )
        )
        try:
            await session.commit()
        except IntegrityError:
            raise click.ClickException("That e-mail address or username is taken.") from None

    _run_with_session(create)
    click.echo(f"Administrator {username} created.")


@main.command()
@click.option("--users", default=100, show_default=True, help="How many users to create.")
@click.option("--posts", default=2000, show_default=True, help="How many posts to create.")
@click.option("--comments", default=None, type=int, help="How many comments (default: posts x 2).")
@click.option("--follows", default=None, type=int, help="Follows per user (default: up to 10).")
@click.option("--seed", default=None, type=int, help="Random seed, for repeatable data.")
def fake(
    users: int, posts: int, comments: int | None, follows: int | None, seed: int | None
) -> None:
    """Fill the database with realistic fake users, posts, comments and follows.

    Every fake user's password is "password".
    """
    from faker import Faker

    faker = Faker()
    rng = random.Random(seed)
    if seed is not None:
        Faker.seed(seed)
    comments = posts * 2 if comments is None else comments
    config = load_config()

    async def fill(session: AsyncSession) -> None:
        await Role.insert_roles(session)
        await session.commit()
        role_id = await session.scalar(select(Role.id).where(Role.default.is_(True)))
        password_hash = await asyncio.to_thread(hasher_for(config).hash, "password")
        now = utcnow()
        first_user = (await session.scalar(select(func.max(User.id)))) or 0

        user_rows: list[dict[str, Any]] = []
        with click.progressbar(length=users, label="Users   ") as bar:
            for n in range(users):
                number = first_user + n + 1
                email = f"{faker.user_name()}.{number}@{faker.free_email_domain()}".lower()
                since = now - timedelta(days=rng.uniform(30, 720))
                user_rows.append(
                    {
                        "email": email,
                        "username": f"{faker.user_name()}{number}"[:64],
                        "password_hash": password_hash,
                        "confirmed": True,
                        "name": faker.name(),
                        "location": faker.city(),
                        "about_me": faker.sentence(),
                        "member_since": since,
                        "last_seen": since + (now - since) * rng.random(),
                        "avatar_hash": User.email_hash(email),
                        "role_id": role_id,
                        "session_generation": 0,
                    }
                )
                bar.update(1)
        await _insert_in_batches(session, User, user_rows)
        user_ids = list((await session.scalars(select(User.id))).all())
        if not user_ids:
            raise click.ClickException("No users to write posts: use --users.")

        await _fake_rows(
            session, Post, posts, "Posts   ",
            lambda: _post_row(faker, rng, user_ids, now),
        )  # fmt: skip
        post_ids = list((await session.scalars(select(Post.id))).all())
        if post_ids:
            await _fake_rows(
                session, Comment, comments, "Comments",
                lambda: _comment_row(faker, rng, user_ids, post_ids, now),
            )  # fmt: skip

        follows_table = await session.execute(select(Follow.follower_id, Follow.followed_id))
        existing = {(follower, followed) for follower, followed in follows_table}
        follow_rows = []
        for follower in user_ids:
            count = follows if follows is not None else rng.randint(0, 10)
            for followed in rng.sample(user_ids, min(count, len(user_ids))):
                if followed != follower and (follower, followed) not in existing:
                    existing.add((follower, followed))
                    follow_rows.append(
                        {
                            "follower_id": follower,
                            "followed_id": followed,
                            "timestamp": now - timedelta(days=rng.uniform(0, 30)),
                        }
                    )
        await _insert_in_batches(session, Follow, follow_rows)
        await session.commit()
        click.echo(
            f"Created {users} users, {posts} posts, {comments if post_ids else 0} comments, "
            f"{len(follow_rows)} follows."
        )

    _run_with_session(fill)


def _post_row(faker: Any, rng: random.Random, user_ids: list[int], now: Any) -> dict[str, Any]:
    body = "\n\n".join(faker.paragraphs(nb=rng.randint(1, 3)))
    return {
        "body": body,
        "body_html": render_post(body),
        "timestamp": now - timedelta(seconds=rng.uniform(0, 365 * 86400)),
        "author_id": rng.choice(user_ids),
    }


def _comment_row(
    faker: Any, rng: random.Random, user_ids: list[int], post_ids: list[int], now: Any
) -> dict[str, Any]:
    body = faker.sentence(nb_words=rng.randint(4, 20))
    return {
        "body": body,
        "body_html": render_comment(body),
        "timestamp": now - timedelta(seconds=rng.uniform(0, 365 * 86400)),
        "disabled": False,
        "author_id": rng.choice(user_ids),
        "post_id": rng.choice(post_ids),
    }


async def _fake_rows(
    session: AsyncSession,
    model: type[Any],
    count: int,
    label: str,
    make_row: Callable[[], dict[str, Any]],
) -> None:
    batch: list[dict[str, Any]] = []
    with click.progressbar(length=count, label=label) as bar:
        for _ in range(count):
            batch.append(make_row())
            if len(batch) == 1000:
                await _insert_in_batches(session, model, batch)
                bar.update(len(batch))
                batch = []
        await _insert_in_batches(session, model, batch)
        bar.update(len(batch))


async def _insert_in_batches(session: AsyncSession, model: type[Any], rows: list[Any]) -> None:
    for start in range(0, len(rows), 1000):
        await session.execute(insert(model), rows[start : start + 1000])
    await session.commit()


@main.command()
def routes() -> None:
    """List the URLs the app answers, with their methods and endpoints."""
    from . import create_app

    app = create_app()
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule)
    width = max(len(rule.rule) for rule in rules)
    for rule in rules:
        methods = ",".join(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
        click.echo(f"{rule.rule:<{width}}  {methods:<18}  {rule.endpoint}")


@main.command()
def shell() -> None:
    """An interactive Python shell with the app, the models and a database session.

    Await-free: `run(coroutine)` runs a coroutine, e.g.
    `run(session.scalar(select(func.count(User.id))))`.
    """
    import sqlalchemy

    from . import create_app, models

    app = create_app()
    loop = asyncio.new_event_loop()
    config = load_config()
    engine = make_engine(config.database_url, config.slow_db_query_time)
    session = async_sessionmaker(engine, expire_on_commit=False)()
    namespace: dict[str, Any] = {
        "app": app,
        "session": session,
        "select": sqlalchemy.select,
        "func": sqlalchemy.func,
        "run": loop.run_until_complete,
        **{name: getattr(models, name) for name in models.__all__},
    }
    try:
        code.interact(
            banner="Flasky shell: app, session, models; run(coro) runs a coroutine.",
            local=namespace,
        )
    finally:
        loop.run_until_complete(session.close())
        loop.run_until_complete(engine.dispose())
        loop.close()
