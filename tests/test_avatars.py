"""Avatars: local identicons served by the app (default), or Gravatar's when configured."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import AsyncIterator

import pytest
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession

from service import create_app

from .blog import add_post
from .fixtures import Client, MakeUser


async def test_identicon_is_an_svg_cached_for_a_week(client: Client) -> None:
    response = await client.get("/avatar/7.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert (await response.get_data(as_text=True)).startswith("<svg")
    cache = response.headers["Cache-Control"]
    assert "public" in cache and "max-age=604800" in cache and "immutable" in cache


async def test_identicons_are_deterministic_and_differ_between_users(
    client: Client,
) -> None:
    first = await (await client.get("/avatar/7.svg")).get_data()
    again = await (await client.get("/avatar/7.svg")).get_data()
    other = await (await client.get("/avatar/8.svg")).get_data()
    assert first == again
    assert first != other


async def test_identicon_path_takes_only_numbers(client: Client) -> None:
    assert (await client.get("/avatar/abc.svg")).status_code == 404


async def test_local_avatars_tell_no_third_party(client: Client, make_user: MakeUser) -> None:
    john = await make_user("john")
    html = await (await client.get("/user/john")).get_data(as_text=True)
    assert f'src="/avatar/{john.id}.svg"' in html
    assert "gravatar" not in html
    assert john.avatar_hash is not None
    assert "john@flasky.dev" not in html and john.avatar_hash not in html


@pytest.fixture
async def gravatar_app(app: Quart) -> AsyncIterator[Quart]:
    """The test app's configuration with Gravatar avatars."""
    gravatar = create_app(dataclasses.replace(app.extensions["flasky_config"], avatars="gravatar"))
    async with gravatar.test_app():
        yield gravatar


async def test_gravatar_avatars_use_the_email_hash(
    gravatar_app: Quart, make_user: MakeUser
) -> None:
    await make_user("john")
    response = await gravatar_app.test_client().get("/user/john")
    html = await response.get_data(as_text=True)
    digest = hashlib.md5(b"john@flasky.dev", usedforsecurity=False).hexdigest()
    assert f"https://secure.gravatar.com/avatar/{digest}?s=256&amp;d=identicon&amp;r=g" in html
    assert "https://secure.gravatar.com" in response.headers["Content-Security-Policy"]


async def test_posts_show_the_authors_avatar(
    gravatar_app: Quart, make_user: MakeUser, db: AsyncSession
) -> None:
    await add_post(db, await make_user("john"))
    html = await (await gravatar_app.test_client().get("/")).get_data(as_text=True)
    digest = hashlib.md5(b"john@flasky.dev", usedforsecurity=False).hexdigest()
    assert f"https://secure.gravatar.com/avatar/{digest}?s=40" in html
