"""Posts over the API: list, read, write, edit, delete, and every way to send bad input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Comment, Permission, Post, Role

from .blog import add_posts
from .fixtures import ApiAuth, Client, CountStatements, MakeUser

JOHN = ("john@flasky.dev", "cat-password")
POST_KEYS = {"url", "body", "body_html", "timestamp", "author_url", "comments_url", "comment_count"}
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_post_json_has_flaskys_keys(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    [post] = await add_posts(db, john, 1, newest=T0)
    db.add(Comment(body="c", body_html="c", author_id=john.id, post_id=post.id))
    await db.commit()
    response = await client.get(f"/api/v1/posts/{post.id}", headers=api_auth(*JOHN))
    assert response.status_code == 200
    assert await response.get_json() == {
        "url": f"/api/v1/posts/{post.id}",
        "body": "post 0",
        "body_html": "<p>post 0</p>",
        "timestamp": "2026-01-02T03:04:05Z",
        "author_url": f"/api/v1/users/{john.id}",
        "comments_url": f"/api/v1/posts/{post.id}/comments/",
        "comment_count": 1,
    }


async def test_list_is_newest_first_and_paginated(
    client: Client,
    make_user: MakeUser,
    api_auth: ApiAuth,
    db: AsyncSession,
    app: object,
) -> None:
    john = await make_user("john")
    posts = await add_posts(db, john, 25, newest=T0)
    first = await (await client.get("/api/v1/posts/", headers=api_auth(*JOHN))).get_json()
    assert [p["body"] for p in first["posts"]] == [f"post {i}" for i in range(20)]
    assert first["prev"] is None
    assert first["next"] == "/api/v1/posts/?page=2"
    assert first["count"] == 25
    second = await (await client.get(first["next"], headers=api_auth(*JOHN))).get_json()
    assert [p["url"] for p in second["posts"]] == [f"/api/v1/posts/{p.id}" for p in posts[20:]]
    assert second["prev"] == "/api/v1/posts/?page=1"
    assert second["next"] is None


@pytest.mark.parametrize("page", ["-1", "abc", "0", str(10**30)])
async def test_odd_page_numbers_are_not_errors(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, page: str
) -> None:
    await make_user("john")
    response = await client.get(f"/api/v1/posts/?page={page}", headers=api_auth(*JOHN))
    assert response.status_code == 200


async def test_list_statement_count_does_not_grow(
    client: Client,
    make_user: MakeUser,
    api_auth: ApiAuth,
    db: AsyncSession,
    count_statements: CountStatements,
) -> None:
    john = await make_user("john")
    await add_posts(db, john, 1, newest=T0)
    with count_statements() as one:
        await client.get("/api/v1/posts/", headers=api_auth(*JOHN))
    await add_posts(db, john, 19, newest=T0)
    with count_statements() as twenty:
        response = await client.get("/api/v1/posts/", headers=api_auth(*JOHN))
    assert len((await response.get_json())["posts"]) == 20
    # Password authentication (insert, count, user, attempt taken back), count,
    # rows with their comment counts.
    assert len(one) == len(twenty) == 6


async def test_new_post_is_201_with_location(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    response = await client.post(
        "/api/v1/posts/",
        json={"body": "*Hello* <script>alert(1)</script>"},
        headers=api_auth(*JOHN),
    )
    assert response.status_code == 201
    data = await response.get_json()
    assert set(data) == POST_KEYS
    assert response.headers["Location"] == data["url"]
    assert data["body_html"] == "<p><em>Hello</em> </p>"
    assert data["author_url"] == f"/api/v1/users/{john.id}"
    assert data["comment_count"] == 0
    again = await client.get(response.headers["Location"], headers=api_auth(*JOHN))
    assert await again.get_json() == data
    assert await db.scalar(select(func.count()).select_from(Post)) == 1


async def test_new_post_needs_write_permission(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    db.add(Role(name="Reader", permissions=int(Permission.FOLLOW | Permission.COMMENT)))
    await db.commit()
    await make_user("john", role="Reader")
    response = await client.post("/api/v1/posts/", json={"body": "hi"}, headers=api_auth(*JOHN))
    assert response.status_code == 403
    assert await response.get_json() == {
        "error": "forbidden",
        "message": "Insufficient permissions",
    }


BAD_BODIES = [
    pytest.param({"data": b""}, "request body is empty", id="empty-body"),
    pytest.param({"json": {}}, "post does not have a body", id="no-body-field"),
    pytest.param({"json": {"body": ""}}, "post does not have a body", id="empty-string"),
    pytest.param({"json": {"body": None}}, "post does not have a body", id="null"),
    pytest.param({"json": {"body": " \n\t"}}, "must not be blank", id="whitespace"),
    pytest.param({"json": {"body": 42}}, "must be a string", id="number"),
    pytest.param({"json": {"body": ["a"]}}, "must be a string", id="list"),
    pytest.param({"json": {"body": "a\x00b"}}, "NUL", id="nul-character"),
    pytest.param({"data": b'{"body": "\\ud800"}'}, "surrogates", id="lone-surrogate"),
    pytest.param({"json": ["body"]}, "must be a JSON object", id="array"),
    pytest.param({"data": b'{"body": '}, "not valid JSON", id="malformed"),
    pytest.param({"data": b"\xff\xfe\x00"}, "not valid JSON", id="binary"),
    pytest.param({"data": b"[" * 100_000}, "not valid JSON", id="deeply-nested"),
    pytest.param({"form": {"body": "hi"}}, "Content-Type: application/json", id="form"),
]


@pytest.mark.parametrize(("kwargs", "message"), BAD_BODIES)
async def test_bad_input_is_400_with_a_message(
    client: Client,
    make_user: MakeUser,
    api_auth: ApiAuth,
    kwargs: dict[str, object],
    message: str,
) -> None:
    await make_user("john")
    headers = api_auth(*JOHN)
    if "data" in kwargs:
        headers["Content-Type"] = "application/json"
    response = await client.post("/api/v1/posts/", headers=headers, **kwargs)
    assert response.status_code == 400
    data = await response.get_json()
    assert data["error"] == "bad request"
    assert message in data["message"]


async def test_oversized_body_is_json_413(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    response = await client.post(
        "/api/v1/posts/", json={"body": "x" * (1024 * 1024)}, headers=api_auth(*JOHN)
    )
    assert response.status_code == 413
    assert (await response.get_json())["error"] == "request entity too large"


@pytest.mark.parametrize("path", ["/api/v1/posts/12345", f"/api/v1/posts/{10**20}"])
async def test_unknown_post_is_json_404(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, path: str
) -> None:
    await make_user("john")
    response = await client.get(path, headers=api_auth(*JOHN))
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "not found"


async def test_author_edits_a_post(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    [post] = await add_posts(db, john, 1, newest=T0)
    response = await client.put(
        f"/api/v1/posts/{post.id}", json={"body": "**updated**"}, headers=api_auth(*JOHN)
    )
    assert response.status_code == 200
    data = await response.get_json()
    assert (data["body"], data["body_html"]) == ("**updated**", "<p><strong>updated</strong></p>")
    again = await client.get(f"/api/v1/posts/{post.id}", headers=api_auth(*JOHN))
    assert (await again.get_json())["body"] == "**updated**"


async def test_a_list_shows_an_edit_and_a_new_comment_at_once(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    # A list's post JSON is built once per row and count (representations.post_json).
    john = await make_user("john")
    [post] = await add_posts(db, john, 1, newest=T0)

    async def listed() -> tuple[str, int]:
        page = await (await client.get("/api/v1/posts/", headers=api_auth(*JOHN))).get_json()
        return page["posts"][0]["body"], page["posts"][0]["comment_count"]

    assert await listed() == ("post 0", 0)
    assert await listed() == ("post 0", 0)
    edited = await client.put(
        f"/api/v1/posts/{post.id}", json={"body": "edited"}, headers=api_auth(*JOHN)
    )
    assert edited.status_code == 200
    assert await listed() == ("edited", 0)
    db.add(Comment(body="c", body_html="c", author_id=john.id, post_id=post.id))
    await db.commit()
    assert await listed() == ("edited", 1)


async def test_put_by_a_non_author_is_403(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    await make_user("susan")
    [post] = await add_posts(db, john, 1, newest=T0)
    response = await client.put(
        f"/api/v1/posts/{post.id}",
        json={"body": "mine now"},
        headers=api_auth("susan@flasky.dev", "cat-password"),
    )
    assert response.status_code == 403
    assert (await response.get_json())["message"] == "Insufficient permissions"
    await db.refresh(post)
    assert post.body == "post 0"


async def test_administrator_edits_any_post(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    await make_user("admin", role="Administrator")
    [post] = await add_posts(db, john, 1, newest=T0)
    response = await client.put(
        f"/api/v1/posts/{post.id}",
        json={"body": "moderated"},
        headers=api_auth("admin@flasky.dev", "cat-password"),
    )
    assert response.status_code == 200


async def test_put_checks_the_body(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    [post] = await add_posts(db, john, 1, newest=T0)
    response = await client.put(
        f"/api/v1/posts/{post.id}", json={"body": ""}, headers=api_auth(*JOHN)
    )
    assert response.status_code == 400


async def test_author_deletes_a_post_and_its_comments(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    [post] = await add_posts(db, john, 1, newest=T0)
    db.add(Comment(body="c", body_html="c", author_id=john.id, post_id=post.id))
    await db.commit()
    response = await client.delete(f"/api/v1/posts/{post.id}", headers=api_auth(*JOHN))
    assert response.status_code == 204
    assert await response.get_data() == b""
    gone = await client.get(f"/api/v1/posts/{post.id}", headers=api_auth(*JOHN))
    assert gone.status_code == 404
    assert await db.scalar(select(func.count()).select_from(Comment)) == 0


async def test_delete_by_a_non_author_is_403(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    await make_user("susan", role="Moderator")
    [post] = await add_posts(db, john, 1, newest=T0)
    response = await client.delete(
        f"/api/v1/posts/{post.id}", headers=api_auth("susan@flasky.dev", "cat-password")
    )
    assert response.status_code == 403
    assert await db.scalar(select(func.count()).select_from(Post)) == 1
