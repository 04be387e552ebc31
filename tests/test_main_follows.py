"""Followers: follow and unfollow (POST only), the follower lists, "Follows you"."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Follow, Permission, User

from .blog import add_follow, add_role
from .fixtures import Client, Csrf, MakeUser, SignedIn, read_html


async def _follows(db: AsyncSession, follower: User, followed: User) -> bool:
    count = await db.scalar(
        select(func.count())
        .select_from(Follow)
        .where(Follow.follower_id == follower.id, Follow.followed_id == followed.id)
    )
    return bool(count)


async def test_follow_a_user(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    susan = await make_user("susan")
    async with signed_in(client, john):
        response = await client.post("/follow/susan", form={"csrf_token": await csrf(client, "/")})
        assert response.status_code == 302
        assert response.headers["Location"] == "/user/susan"
        html = await read_html(await client.get("/user/susan"))
    assert "You are now following susan." in html
    assert 'action="/unfollow/susan"' in html
    assert 'Followers: <span class="badge text-bg-secondary">1</span>' in html
    assert await _follows(db, john, susan)


async def test_profile_offers_follow_to_a_user_not_followed(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    await make_user("susan")
    async with signed_in(client, await make_user("john")):
        html = await read_html(await client.get("/user/susan"))
    assert 'action="/follow/susan"' in html
    assert 'action="/unfollow/susan"' not in html


async def test_no_follow_button_on_ones_own_profile_or_for_strangers(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    await make_user("susan")
    assert 'action="/follow/susan"' not in await read_html(await client.get("/user/susan"))
    async with signed_in(client, await make_user("john")):
        assert 'action="/follow/john"' not in await read_html(await client.get("/user/john"))


async def test_following_twice_says_so(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    await add_follow(db, john, await make_user("susan"))
    async with signed_in(client, john):
        await client.post("/follow/susan", form={"csrf_token": await csrf(client, "/")})
        html = await read_html(await client.get("/user/susan"))
    assert "You are already following this user." in html


async def test_following_an_unknown_user_is_invalid(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    async with signed_in(client, await make_user("john")):
        response = await client.post("/follow/nobody", form={"csrf_token": await csrf(client, "/")})
        assert response.headers["Location"] == "/"
        assert "Invalid user." in await read_html(await client.get("/"))


async def test_nobody_follows_themselves(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        await client.post("/follow/john", form={"csrf_token": await csrf(client, "/")})
    assert not await _follows(db, john, john)


async def test_unfollow_a_user(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    susan = await make_user("susan")
    await add_follow(db, john, susan)
    async with signed_in(client, john):
        response = await client.post(
            "/unfollow/susan", form={"csrf_token": await csrf(client, "/")}
        )
        assert response.headers["Location"] == "/user/susan"
        html = await read_html(await client.get("/user/susan"))
    assert "You are not following susan anymore." in html
    assert not await _follows(db, john, susan)


async def test_unfollowing_someone_not_followed_says_so(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    await make_user("susan")
    async with signed_in(client, await make_user("john")):
        await client.post("/unfollow/susan", form={"csrf_token": await csrf(client, "/")})
        html = await read_html(await client.get("/user/susan"))
    assert "You are not following this user." in html


async def test_unfollowing_an_unknown_user_is_invalid(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    async with signed_in(client, await make_user("john")):
        response = await client.post(
            "/unfollow/nobody", form={"csrf_token": await csrf(client, "/")}
        )
        assert response.headers["Location"] == "/"
        assert "Invalid user." in await read_html(await client.get("/"))


async def test_follow_and_unfollow_refuse_get(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    susan = await make_user("susan")
    async with signed_in(client, john):
        assert (await client.get("/follow/susan")).status_code == 405
        await add_follow(db, john, susan)
        assert (await client.get("/unfollow/susan")).status_code == 405
    assert await _follows(db, john, susan)


async def test_following_needs_a_login(
    client: Client, db: AsyncSession, make_user: MakeUser, csrf: Csrf
) -> None:
    await make_user("susan")
    response = await client.post("/follow/susan", form={"csrf_token": await csrf(client)})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert await db.scalar(select(func.count()).select_from(Follow)) == 0


async def test_following_needs_the_follow_permission(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    await add_role(db, "Muted", Permission.COMMENT)
    await make_user("susan")
    async with signed_in(client, await make_user("john", role="Muted")):
        assert 'action="/follow/susan"' not in await read_html(await client.get("/user/susan"))
        response = await client.post("/follow/susan", form={"csrf_token": await csrf(client, "/")})
    assert response.status_code == 403
    assert await db.scalar(select(func.count()).select_from(Follow)) == 0


async def test_follows_you_badge(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    susan = await make_user("susan")
    await make_user("david")
    await add_follow(db, susan, john)
    async with signed_in(client, john):
        assert "Follows you" in await read_html(await client.get("/user/susan"))
        assert "Follows you" not in await read_html(await client.get("/user/david"))


async def test_followers_page_lists_followers_with_avatars_and_dates(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    susan = await make_user("susan")
    await add_follow(db, susan, john)
    await add_follow(db, john, await make_user("david"))
    html = await read_html(await client.get("/followers/john"))
    assert "Followers of" in html
    assert 'href="/user/susan"' in html and f'src="/avatar/{susan.id}.svg"' in html
    assert 'href="/user/david"' not in html
    assert "<time datetime=" in html


async def test_followed_by_page_lists_whom_the_user_follows(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    await add_follow(db, john, await make_user("susan"))
    await add_follow(db, await make_user("david"), john)
    html = await read_html(await client.get("/followed_by/john"))
    assert "Followed by" in html
    assert 'href="/user/susan"' in html and 'href="/user/david"' not in html


async def test_follower_lists_never_list_the_user_themselves(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    await make_user("john")
    for path in ("/followers/john", "/followed_by/john"):
        assert "Nobody yet." in await read_html(await client.get(path)), path


async def test_follower_lists_of_unknown_users_are_invalid(client: Client) -> None:
    for path in ("/followers/nobody", "/followed_by/nobody"):
        response = await client.get(path)
        assert response.status_code == 302 and response.headers["Location"] == "/", path
    assert "Invalid user." in await read_html(await client.get("/"))


async def test_follower_lists_are_paginated(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    for n in range(51):
        await add_follow(db, await make_user(f"fan{n}"), john)
    first = await read_html(await client.get("/followers/john"))
    second = await read_html(await client.get("/followers/john?page=2"))
    assert first.count("<tr>\n      <td>") == 50
    assert second.count("<tr>\n      <td>") == 1
    assert 'href="/followers/john?page=2"' in first
