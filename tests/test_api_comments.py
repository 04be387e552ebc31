"""Comments over the API: all of them, one, a post's, new ones, and what moderation hides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Comment, Permission, Post, Role, User

from .blog import add_post
from .fixtures import ApiAuth, Client, CountStatements, MakeUser

JOHN = ("john@flasky.dev", "cat-password")
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def add_comments(
    db: AsyncSession, post: Post, author: User, *bodies: str, disabled: bool = False
) -> list[Comment]:
    """Comments on `post`, a minute apart in the order given."""
    comments = [
        Comment(body=body, body_html=body, author_id=author.id, post_id=post.id,
                timestamp=T0 + timedelta(minutes=i), disabled=disabled)
        for i, body in enumerate(bodies, start=1)
    ]  # fmt: skip
    db.add_all(comments)
    await db.commit()
    return comments


async def comment_bodies(client: Client, headers: dict[str, str], path: str) -> list[str]:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200
    return [comment["body"] for comment in (await response.get_json())["comments"]]


async def test_comment_json_has_flaskys_keys(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "post", at=T0)
    [comment] = await add_comments(db, post, john, "nice")
    response = await client.get(f"/api/v1/comments/{comment.id}", headers=api_auth(*JOHN))
    assert response.status_code == 200
    assert await response.get_json() == {
        "url": f"/api/v1/comments/{comment.id}",
        "post_url": f"/api/v1/posts/{post.id}",
        "body": "nice",
        "body_html": "nice",
        "timestamp": "2026-01-02T03:05:05Z",
        "author_url": f"/api/v1/users/{john.id}",
    }


async def test_post_comments_are_oldest_first(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "post", at=T0)
    await add_comments(db, post, john, "first", "second", "third")
    path = f"/api/v1/posts/{post.id}/comments/"
    assert await comment_bodies(client, api_auth(*JOHN), path) == ["first", "second", "third"]


async def test_all_comments_are_newest_first_and_paginated(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "post", at=T0)
    await add_comments(db, post, john, *[f"c{i}" for i in range(31)])
    response = await client.get("/api/v1/comments/", headers=api_auth(*JOHN))
    data = await response.get_json()
    assert [c["body"] for c in data["comments"]] == [f"c{i}" for i in range(30, 0, -1)]
    assert (data["prev"], data["next"], data["count"]) == (None, "/api/v1/comments/?page=2", 31)


async def test_comments_of_an_unknown_post_are_404(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    response = await client.get("/api/v1/posts/4242/comments/", headers=api_auth(*JOHN))
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "not found"


async def test_new_comment_is_201_with_location(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    await make_user("susan")
    post = await add_post(db, john, "post", at=T0)
    response = await client.post(
        f"/api/v1/posts/{post.id}/comments/",
        json={"body": "Good **post** <script>alert(1)</script><h1>!</h1>"},
        headers=api_auth("susan@flasky.dev", "cat-password"),
    )
    assert response.status_code == 201
    data = await response.get_json()
    assert response.headers["Location"] == data["url"]
    assert data["post_url"] == f"/api/v1/posts/{post.id}"
    assert "<strong>post</strong>" in data["body_html"]
    assert "<script" not in data["body_html"]
    assert "<h1>" not in data["body_html"]
    again = await client.get(data["url"], headers=api_auth(*JOHN))
    assert await again.get_json() == data
    post_json = await (
        await client.get(f"/api/v1/posts/{post.id}", headers=api_auth(*JOHN))
    ).get_json()
    assert post_json["comment_count"] == 1


async def test_new_comment_needs_comment_permission(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    db.add(Role(name="Silent", permissions=int(Permission.FOLLOW | Permission.WRITE)))
    await db.commit()
    john = await make_user("john", role="Silent")
    post = await add_post(db, john, "post", at=T0)
    response = await client.post(
        f"/api/v1/posts/{post.id}/comments/", json={"body": "hi"}, headers=api_auth(*JOHN)
    )
    assert response.status_code == 403
    assert (await response.get_json())["message"] == "Insufficient permissions"
    assert await db.scalar(select(func.count()).select_from(Comment)) == 0


async def test_new_comment_on_an_unknown_post_is_404(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    response = await client.post(
        "/api/v1/posts/4242/comments/", json={"body": "hi"}, headers=api_auth(*JOHN)
    )
    assert response.status_code == 404


async def test_new_comment_checks_the_body(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "post", at=T0)
    response = await client.post(
        f"/api/v1/posts/{post.id}/comments/", json={"text": "hi"}, headers=api_auth(*JOHN)
    )
    assert response.status_code == 400
    assert (await response.get_json())["message"] == "comment does not have a body"


async def test_disabled_comments_are_hidden_from_users(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "post", at=T0)
    await add_comments(db, post, john, "kept")
    [hidden] = await add_comments(db, post, john, "abusive", disabled=True)
    headers = api_auth(*JOHN)
    assert await comment_bodies(client, headers, "/api/v1/comments/") == ["kept"]
    assert await comment_bodies(client, headers, f"/api/v1/posts/{post.id}/comments/") == ["kept"]
    response = await client.get(f"/api/v1/comments/{hidden.id}", headers=headers)
    assert response.status_code == 404
    post_json = await (await client.get(f"/api/v1/posts/{post.id}", headers=headers)).get_json()
    assert post_json["comment_count"] == 1


async def test_moderators_see_disabled_comments(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    await make_user("mod", role="Moderator")
    post = await add_post(db, john, "post", at=T0)
    [hidden] = await add_comments(db, post, john, "abusive", disabled=True)
    headers = api_auth("mod@flasky.dev", "cat-password")
    assert await comment_bodies(client, headers, "/api/v1/comments/") == ["abusive"]
    response = await client.get(f"/api/v1/comments/{hidden.id}", headers=headers)
    assert response.status_code == 200
    post_json = await (await client.get(f"/api/v1/posts/{post.id}", headers=headers)).get_json()
    assert post_json["comment_count"] == 1


async def test_post_comments_statement_count_does_not_grow(
    client: Client,
    make_user: MakeUser,
    api_auth: ApiAuth,
    db: AsyncSession,
    count_statements: CountStatements,
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "post", at=T0)
    await add_comments(db, post, john, "one")
    path = f"/api/v1/posts/{post.id}/comments/"
    with count_statements() as one:
        await client.get(path, headers=api_auth(*JOHN))
    await add_comments(db, post, john, *[f"c{i}" for i in range(19)])
    with count_statements() as twenty:
        assert len(await comment_bodies(client, api_auth(*JOHN), path)) == 20
    # Password authentication (the throttle's attempt: insert, count, then the user
    # and the attempt taken back), the post, count, rows.
    assert len(one) == len(twenty) == 7


async def test_all_comments_statement_count_does_not_grow(
    client: Client,
    make_user: MakeUser,
    api_auth: ApiAuth,
    db: AsyncSession,
    count_statements: CountStatements,
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "post", at=T0)
    await add_comments(db, post, john, "one")
    with count_statements() as one:
        await client.get("/api/v1/comments/", headers=api_auth(*JOHN))
    await add_comments(db, post, john, *[f"c{i}" for i in range(19)])
    with count_statements() as twenty:
        assert len(await comment_bodies(client, api_auth(*JOHN), "/api/v1/comments/")) == 20
    # Password authentication (insert, count, user, attempt taken back), count, rows.
    assert len(one) == len(twenty) == 6
