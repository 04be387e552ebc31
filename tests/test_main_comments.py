"""Comments on a post: the form, publishing, pagination oldest first, disabled comments."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Comment, Permission

from .blog import add_comment, add_post, add_role
from .fixtures import Client, Csrf, MakeUser, SignedIn, read_html

NOTICE = "This comment has been disabled by a moderator."


async def _comment_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count(Comment.id))) or 0)


async def test_post_page_offers_the_comment_form(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    async with signed_in(client, john):
        html = await read_html(await client.get(f"/post/{post.id}"))
    assert 'id="comments"' in html
    assert "Enter your comment" in html and 'name="body"' in html


async def test_strangers_see_comments_but_no_form(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    await add_comment(db, post, john, "nice *post*")
    html = await read_html(await client.get(f"/post/{post.id}"))
    assert "nice <em>post</em>" in html
    assert "Enter your comment" not in html


async def test_publishing_a_comment_lands_on_the_last_page(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    async with signed_in(client, john):
        response = await client.post(
            f"/post/{post.id}", form={"body": "**great**", "csrf_token": await csrf(client, "/")}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == f"/post/{post.id}?page=-1#comments"
        html = await read_html(await client.get(f"/post/{post.id}?page=-1"))
    assert "Your comment has been published." in html
    assert "<strong>great</strong>" in html
    comment = await db.scalar(select(Comment))
    assert comment is not None and comment.author_id == john.id and comment.post_id == post.id


async def test_an_empty_comment_is_a_form_error(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    async with signed_in(client, john):
        response = await client.post(
            f"/post/{post.id}", form={"body": "", "csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 200
    assert "This field is required." in await read_html(response)
    assert await _comment_count(db) == 0


async def test_commenting_needs_the_comment_permission(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    await add_role(db, "Silent", Permission.FOLLOW)
    post = await add_post(db, await make_user("john"))
    async with signed_in(client, await make_user("quiet", role="Silent")):
        assert "Enter your comment" not in await read_html(await client.get(f"/post/{post.id}"))
        response = await client.post(
            f"/post/{post.id}", form={"body": "hi", "csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 403
    assert await _comment_count(db) == 0


async def test_strangers_cannot_comment(
    client: Client, db: AsyncSession, make_user: MakeUser, csrf: Csrf
) -> None:
    post = await add_post(db, await make_user("john"))
    response = await client.post(
        f"/post/{post.id}", form={"body": "hi", "csrf_token": await csrf(client)}
    )
    assert response.status_code == 403
    assert await _comment_count(db) == 0


async def test_commenting_on_an_unknown_post_is_404(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    async with signed_in(client, await make_user("john")):
        response = await client.post(
            "/post/999", form={"body": "hi", "csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 404


async def test_comments_are_paginated_oldest_first(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    for n in range(31):
        await add_comment(db, post, john, f"comment {n:02d}", age=100 - n)
    first = await read_html(await client.get(f"/post/{post.id}"))
    last = await read_html(await client.get(f"/post/{post.id}?page=-1"))
    assert first.index("comment 00") < first.index("comment 29")
    assert "comment 30" not in first
    assert "comment 30" in last and "comment 00" not in last
    assert "31 Comments" in first
    assert f'href="/post/{post.id}?page=2#comments"' in first


async def test_disabled_comment_shows_only_the_notice_to_users(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    await add_comment(db, post, john, "rude words", disabled=True)
    async with signed_in(client, john):
        html = await read_html(await client.get(f"/post/{post.id}"))
    assert NOTICE in html
    assert "rude words" not in html
    assert "rude words" not in await read_html(await client.get(f"/post/{post.id}"))


async def test_moderators_see_the_notice_and_the_disabled_comment(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    await add_comment(db, post, john, "rude words", disabled=True)
    async with signed_in(client, await make_user("mod", role="Moderator")):
        html = await read_html(await client.get(f"/post/{post.id}"))
    assert NOTICE in html
    assert "rude words" in html
