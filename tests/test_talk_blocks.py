"""Blocking: a blocked user cannot follow, message or comment, by page or API (SPEC 8.4)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Base, Block, Comment, Follow, Message

from .blog import add_block, add_follow, add_post
from .fixtures import ApiAuth, Client, Csrf, MakeUser, SignedIn, read_html

BLOCKED = "This user has blocked you."


async def _count(db: AsyncSession, model: type) -> int:
    await db.rollback()  # a fresh snapshot: the app has written since the last read
    return await db.scalar(select(func.count()).select_from(model)) or 0


async def _post(client: Client, csrf: Csrf, path: str, **form: str) -> tuple[int, str]:
    response = await client.post(path, form={**form, "csrf_token": await csrf(client, "/")})
    return response.status_code, await response.get_data(as_text=True)


async def test_block_and_unblock_from_the_profile(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    await make_user("susan")
    async with signed_in(client, await make_user("john")):
        assert 'action="/block/susan"' in await read_html(await client.get("/user/susan"))
        assert (await _post(client, csrf, "/block/susan"))[0] == 302
        html = await read_html(await client.get("/user/susan"))
        assert "You have blocked susan." in html
        assert 'action="/unblock/susan"' in html
        assert await _count(db, Block) == 1
        assert (await _post(client, csrf, "/unblock/susan"))[0] == 302
        assert 'action="/block/susan"' in await read_html(await client.get("/user/susan"))
    assert await _count(db, Block) == 0


async def test_blocking_needs_a_post_with_csrf_token(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    await make_user("susan")
    async with signed_in(client, await make_user("john")):
        assert (await client.get("/block/susan")).status_code == 405
        assert (await client.post("/block/susan")).status_code == 400
    assert await _count(db, Block) == 0


async def test_blocking_yourself_is_refused(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    async with signed_in(client, await make_user("john")):
        status, html = await _post(client, csrf, "/block/john")
    assert status == 400
    assert "You cannot block yourself." in html
    assert await _count(db, Block) == 0


async def test_blocking_an_unknown_user_is_404(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    async with signed_in(client, await make_user("john")):
        assert (await _post(client, csrf, "/block/nobody"))[0] == 404


async def test_blocking_ends_follows_both_ways(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    await add_follow(db, john, susan)
    await add_follow(db, susan, john)
    async with signed_in(client, john):
        await _post(client, csrf, "/block/susan")
    assert await _count(db, Follow) == 0


# What a blocked user tries on the blocker: the path (given the blocker's
# post), the form, and the table that must stay empty.
ATTEMPTS: dict[str, tuple[Callable[[int], str], dict[str, str], type[Base]]] = {
    "follow": (lambda _post: "/follow/john", {}, Follow),
    "message": (lambda _post: "/messages/john", {"body": "Hi"}, Message),
    "comment": (lambda post: f"/post/{post}", {"body": "Hi"}, Comment),
}


@pytest.mark.parametrize("attempt", ATTEMPTS)
async def test_a_blocked_user_cannot_follow_message_or_comment(
    attempt: str,
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    path, form, model = ATTEMPTS[attempt]
    john, susan = await make_user("john"), await make_user("susan")
    post = await add_post(db, john)
    await add_block(db, john, susan)
    async with signed_in(client, susan):
        status, html = await _post(client, csrf, path(post.id), **form)
    assert status == 403
    assert BLOCKED in html
    assert await _count(db, model) == 0


async def test_a_blocked_user_cannot_comment_through_the_api(
    client: Client, db: AsyncSession, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    john = await make_user("john")
    susan = await make_user("susan")
    post = await add_post(db, john)
    await add_block(db, john, susan)
    response = await client.post(
        f"/api/v1/posts/{post.id}/comments/",
        json={"body": "Hi"},
        headers=api_auth("susan@flasky.dev", "cat-password"),
    )
    assert response.status_code == 403
    assert (await response.get_json())["message"] == BLOCKED
    assert await _count(db, Comment) == 0


async def test_the_blocker_can_still_comment_on_others_posts(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    post = await add_post(db, susan)
    await add_block(db, john, susan)
    async with signed_in(client, john):
        assert (await _post(client, csrf, f"/post/{post.id}", body="Hi"))[0] == 302


async def test_followed_hides_the_posts_of_blocked_users(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    await add_post(db, susan, "susan writes")
    await add_follow(db, john, susan)
    await add_block(db, john, susan)
    client.set_cookie("localhost", "show_followed", "1")
    async with signed_in(client, john):
        html = await read_html(await client.get("/"), status=200)
    assert "susan writes" not in html
