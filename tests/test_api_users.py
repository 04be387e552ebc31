"""Users over the API: a profile, their posts, their timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Follow, Post, User

from .fixtures import ApiAuth, Client, CountStatements, MakeUser

JOHN = ("john@flasky.dev", "cat-password")
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def write(db: AsyncSession, *posts: tuple[User, str]) -> None:
    """Posts `(author, body)`, a minute apart in the order given."""
    db.add_all(
        Post(body=body, body_html=body, author_id=author.id, timestamp=T0 + timedelta(minutes=i))
        for i, (author, body) in enumerate(posts)
    )
    await db.commit()


async def posts_of(client: Client, api_auth: ApiAuth, path: str) -> list[str]:
    response = await client.get(path, headers=api_auth(*JOHN))
    assert response.status_code == 200
    return [post["body"] for post in (await response.get_json())["posts"]]


async def test_user_json_has_flaskys_keys(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john", member_since=T0, last_seen=T0 + timedelta(hours=1))
    await write(db, (john, "one"), (john, "two"))
    response = await client.get(f"/api/v1/users/{john.id}", headers=api_auth(*JOHN))
    assert response.status_code == 200
    assert await response.get_json() == {
        "url": f"/api/v1/users/{john.id}",
        "username": "john",
        "member_since": "2026-01-02T03:04:05Z",
        "last_seen": "2026-01-02T04:04:05Z",
        "posts_url": f"/api/v1/users/{john.id}/posts/",
        "followed_posts_url": f"/api/v1/users/{john.id}/timeline/",
        "post_count": 2,
    }


async def test_user_json_shows_no_private_fields(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    john = await make_user("john")
    response = await client.get(f"/api/v1/users/{john.id}", headers=api_auth(*JOHN))
    text = await response.get_data(as_text=True)
    assert "flasky.dev" not in text
    assert "argon2" not in text


async def test_unknown_user_is_json_404(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    john = await make_user("john")
    for path in (f"/api/v1/users/{john.id + 1}", f"/api/v1/users/{john.id + 1}/posts/"):
        response = await client.get(path, headers=api_auth(*JOHN))
        assert response.status_code == 404
        assert (await response.get_json())["error"] == "not found"


async def test_user_posts_are_theirs_newest_first(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    susan = await make_user("susan")
    await write(db, (john, "j1"), (susan, "s1"), (john, "j2"))
    assert await posts_of(client, api_auth, f"/api/v1/users/{john.id}/posts/") == ["j2", "j1"]


async def test_timeline_has_followed_and_own_posts_newest_first(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    susan = await make_user("susan")
    david = await make_user("david")
    db.add(Follow(follower_id=john.id, followed_id=susan.id))
    await write(db, (susan, "s1"), (david, "d1"), (john, "j1"), (susan, "s2"))
    timeline = await posts_of(client, api_auth, f"/api/v1/users/{john.id}/timeline/")
    assert timeline == ["s2", "j1", "s1"]


async def test_timeline_pages_link_to_the_timeline(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    john = await make_user("john")
    await write(db, *[(john, f"p{i}") for i in range(21)])
    path = f"/api/v1/users/{john.id}/timeline/"
    data = await (await client.get(path, headers=api_auth(*JOHN))).get_json()
    assert (data["next"], data["count"]) == (f"{path}?page=2", 21)


async def test_timeline_statement_count_does_not_grow(
    client: Client,
    make_user: MakeUser,
    api_auth: ApiAuth,
    db: AsyncSession,
    count_statements: CountStatements,
) -> None:
    john = await make_user("john")
    susan = await make_user("susan")
    db.add(Follow(follower_id=john.id, followed_id=susan.id))
    await write(db, (susan, "first"))
    path = f"/api/v1/users/{john.id}/timeline/"
    with count_statements() as one:
        await client.get(path, headers=api_auth(*JOHN))
    await write(db, *[(susan if i % 2 else john, f"p{i}") for i in range(19)])
    with count_statements() as twenty:
        assert len(await posts_of(client, api_auth, path)) == 20
    # Password authentication (insert, count, user, attempt taken back), the user,
    # count, rows with their comment counts.
    assert len(one) == len(twenty) == 7
