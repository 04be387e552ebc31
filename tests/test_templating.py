"""Synchronous rendering: what templates see of the reader, and the links they build."""

from __future__ import annotations

from .fixtures import Client, Login, MakeUser


async def test_the_navigation_follows_whether_the_reader_is_signed_in(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    anonymous = await (await client.get("/")).get_data(as_text=True)
    assert "Hello, Stranger!" in anonymous and 'action="/auth/logout"' not in anonymous
    user = await make_user("reader")
    await login(client, user.email)
    signed_in = await (await client.get("/")).get_data(as_text=True)
    assert "Hello, reader!" in signed_in and 'action="/auth/logout"' in signed_in


async def test_remembered_links_follow_the_root_path(client: Client) -> None:
    plain = await (await client.get("/")).get_data(as_text=True)
    prefixed = await (await client.get("/", root_path="/blog")).get_data(as_text=True)
    again = await (await client.get("/")).get_data(as_text=True)
    assert 'href="/auth/login"' in plain and 'href="/auth/login"' in again
    assert 'href="/blog/auth/login"' in prefixed and 'href="/auth/login"' not in prefixed
