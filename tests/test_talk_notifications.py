"""Notifications: made with the event, counted in the navbar, listed, read (SPEC 8.4)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service import notifications, queries
from service.models import Comment, Notification, Post, User

from .blog import add_comment, add_follow, add_message, add_post
from .fixtures import ApiAuth, Client, Csrf, MakeUser, SignedIn, read_html

BADGE = 'id="unread-notifications"'


async def _kinds(db: AsyncSession) -> list[str]:
    await db.rollback()  # a fresh snapshot: the app has written since the last read
    return list((await db.scalars(select(Notification.kind).order_by(Notification.id))).all())


def _badge(html: str) -> str | None:
    if BADGE not in html:
        return None
    rest = html[html.index(BADGE) :]
    return rest[rest.index(">") + 1 : rest.index("</span>")]


async def _susan_comments_on_johns_post(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> Post:
    """john's post, on which susan (after following john) commented through the page."""
    post = await add_post(db, await make_user("john"))
    async with signed_in(client, await make_user("susan")):
        token = await csrf(client, "/")
        await client.post("/follow/john", form={"csrf_token": token})
        await client.post(f"/post/{post.id}", form={"body": "Nice", "csrf_token": token})
    return post


async def test_following_commenting_and_writing_notify(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    async with signed_in(client, await make_user("susan")):
        token = await csrf(client, "/")
        await client.post("/follow/john", form={"csrf_token": token})
        await client.post(f"/post/{post.id}", form={"body": "Nice", "csrf_token": token})
        await client.post("/messages/john", form={"body": "Hi", "csrf_token": token})
    assert await _kinds(db) == ["follow", "comment", "message"]


async def test_commenting_on_your_own_post_notifies_nobody(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    async with signed_in(client, john):
        token = await csrf(client, "/")
        await client.post(f"/post/{post.id}", form={"body": "Me again", "csrf_token": token})
    assert await _kinds(db) == []


async def test_an_api_comment_notifies_the_author(
    client: Client, db: AsyncSession, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    post = await add_post(db, await make_user("john"))
    await make_user("susan")
    response = await client.post(
        f"/api/v1/posts/{post.id}/comments/",
        json={"body": "Hi"},
        headers=api_auth("susan@flasky.dev", "cat-password"),
    )
    assert response.status_code == 201
    assert await _kinds(db) == ["comment"]


async def test_navbar_shows_the_unread_count_and_the_page_marks_them_read(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    for body in ("one", "two"):
        await add_message(db, susan, john, body)
        async with db.begin():
            notifications.notify(db, john.id, susan.id, notifications.NotificationKind.MESSAGE)
    async with signed_in(client, john):
        assert _badge(await read_html(await client.get("/"))) == "2"
        page = await read_html(await client.get("/notifications"), status=200)
        assert page.count('class="list-group-item notification unread"') == 2
        assert "/messages/susan" in page
        assert _badge(page) is None
        assert _badge(await read_html(await client.get("/"))) is None
        page = await read_html(await client.get("/notifications"))
    assert "notification unread" not in page


async def test_no_badge_without_unread_notifications(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("john")):
        html = await read_html(await client.get("/"))
    assert 'href="/notifications"' in html
    assert 'href="/messages"' in html
    assert _badge(html) is None


async def test_notifications_link_to_what_happened(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    post = await _susan_comments_on_johns_post(client, db, make_user, signed_in, csrf)
    comment_id = await db.scalar(select(Comment.id))
    john = await db.scalar(select(User).where(User.username == "john"))
    assert john is not None
    async with signed_in(client, john):
        html = await read_html(await client.get("/notifications"))
    assert f'href="/post/{post.id}?page=-1#comment-{comment_id}"' in html
    assert "susan</a> started following you." in html
    assert html.index("commented on") < html.index("started following")


async def test_notifications_go_with_the_post_they_are_about(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    post = await _susan_comments_on_johns_post(client, db, make_user, signed_in, csrf)
    assert await _kinds(db) == ["follow", "comment"]
    async with signed_in(client, await db.get_one(User, post.author_id)):
        response = await client.post(
            f"/post/{post.id}/delete", form={"csrf_token": await csrf(client, "/")}
        )
        assert response.status_code == 302
    assert await _kinds(db) == ["follow"]


async def test_a_rolled_back_event_leaves_no_notification(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A double click: the second request passes the "already following?" check
    # before the first commits, and its insert then fails and is rolled back.
    john, susan = await make_user("john"), await make_user("susan")
    await add_follow(db, susan, john)

    async def not_yet(*_args: object) -> bool:
        return False

    monkeypatch.setattr(queries, "is_following", not_yet)
    async with signed_in(client, susan):
        response = await client.post("/follow/john", form={"csrf_token": await csrf(client, "/")})
        assert response.status_code == 302
        html = await read_html(await client.get("/user/john"))
    assert "You are already following this user." in html
    assert await _kinds(db) == []


async def test_api_lists_the_callers_own_notifications(
    client: Client, db: AsyncSession, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    post = await add_post(db, john)
    comment = await add_comment(db, post, susan)
    async with db.begin():
        notifications.notify(
            db,
            john.id,
            susan.id,
            notifications.NotificationKind.COMMENT,
            post_id=post.id,
            comment_id=comment.id,
        )
        notifications.notify(db, susan.id, john.id, notifications.NotificationKind.FOLLOW)
    response = await client.get(
        "/api/v1/notifications/", headers=api_auth("john@flasky.dev", "cat-password")
    )
    assert response.status_code == 200
    body = await response.get_json()
    assert body["count"] == 1
    assert body["prev"] is None and body["next"] is None
    [item] = body["notifications"]
    assert item["kind"] == "comment"
    assert item["post_url"] == f"/api/v1/posts/{post.id}"
    assert item["comment_url"] == f"/api/v1/comments/{comment.id}"
    assert item["actor_url"] == f"/api/v1/users/{susan.id}"
    assert item["read"] is False
