"""Cross-site scripting: hostile posts, comments and profile fields never reach a page as code.

Posts and comments are Markdown, rendered and sanitized on write; profile
fields are plain text, escaped by Jinja.
"""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlalchemy.ext.asyncio import AsyncSession

from .blog import add_comment, add_post
from .fixtures import Client, Csrf, MakeUser, SignedIn, read_html

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    "[click me](javascript:alert(1))",
    '<a href="javascript:alert(1)">click me</a>',
    '<svg onload="alert(1)"></svg>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<p style="x" onclick="alert(1)">hi</p>',
    '"><script>alert(1)</script>',
    "<scr<script>ipt>alert(1)</script>",
]

OUR_SCRIPTS = re.compile(r'<script src="/static/[\w./-]+"></script>')
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def assert_nothing_executable(html: str) -> None:
    html = OUR_SCRIPTS.sub("", html)
    assert "<script" not in html.lower()
    assert "<iframe" not in html.lower() and "<svg" not in html.lower()
    assert EVENT_HANDLER.search(html) is None, EVENT_HANDLER.search(html)
    assert SCRIPT_URL.search(html) is None, SCRIPT_URL.search(html)


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_posts_written_through_the_form_carry_no_code(
    payload: str, client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    async with signed_in(client, await make_user("john")):
        await client.post("/", form={"body": payload, "csrf_token": await csrf(client, "/")})
        assert_nothing_executable(await read_html(await client.get("/"), status=200))
        assert_nothing_executable(await read_html(await client.get("/user/john"), status=200))


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_comments_written_through_the_form_carry_no_code(
    payload: str,
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    post = await add_post(db, await make_user("john"))
    async with signed_in(client, await make_user("mod", role="Moderator")):
        token = await csrf(client, "/")
        await client.post(f"/post/{post.id}", form={"body": payload, "csrf_token": token})
        assert_nothing_executable(await read_html(await client.get(f"/post/{post.id}"), status=200))
        assert_nothing_executable(await read_html(await client.get("/moderate"), status=200))


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_edited_posts_carry_no_code(
    payload: str,
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "harmless")
    async with signed_in(client, john):
        token = await csrf(client, "/")
        await client.post(f"/edit/{post.id}", form={"body": payload, "csrf_token": token})
        assert_nothing_executable(await read_html(await client.get(f"/post/{post.id}"), status=200))


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_profile_fields_are_shown_as_text(
    payload: str, client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    async with signed_in(client, await make_user("john")):
        fields = {"name": payload[:64], "location": payload[:64], "about_me": payload}
        token = await csrf(client, "/")
        response = await client.post("/edit-profile", form={**fields, "csrf_token": token})
        assert response.status_code == 302
        html = await read_html(await client.get("/user/john"), status=200)
    assert_nothing_executable(html)
    assert str(escape(payload)) in html


async def test_disabled_comment_with_code_is_safe_for_moderators(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    await add_comment(db, post, john, '<img src="x" onerror="alert(1)">', disabled=True)
    async with signed_in(client, await make_user("mod", role="Moderator")):
        assert_nothing_executable(await read_html(await client.get(f"/post/{post.id}"), status=200))


@pytest.mark.parametrize("payload", PAYLOADS)
async def test_preview_carries_no_code(
    payload: str, client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    async with signed_in(client, await make_user("john")):
        token = await csrf(client, "/")
        response = await client.post(
            "/preview", form={"body": payload}, headers={"X-CSRFToken": token}
        )
    assert_nothing_executable((await response.get_json())["html"])


def test_the_checker_catches_code() -> None:
    for html in ('<img src=x onerror="alert(1)">', '<a href="javascript:x">', "<script>"):
        with pytest.raises(AssertionError):
            assert_nothing_executable(html)
