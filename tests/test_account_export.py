"""GET /account/export: the user's data as one JSON document, streamed in pages (SPEC 8.5)."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.account import export
from service.models import Post, User, utcnow

from . import two_factor
from .blog import add_comment, add_follow, add_message, add_post
from .fixtures import Client, CountStatements, MakeUser, SignedIn, Submit, read_html


async def download(client: Client, path: str = "/account/export") -> AsyncIterator[bytes]:
    """The body of a GET, chunk by chunk as the app sends it, without collecting it."""
    async with client.request(path) as connection:
        await connection.send_complete()
        while chunk := await connection.receive():
            yield chunk


async def exported(client: Client, user: User, signed_in: SignedIn) -> dict[str, Any]:
    async with signed_in(client, user):
        response = await client.get("/account/export")
    document: dict[str, Any] = json.loads(await read_html(response, status=200))
    return document


async def test_export_needs_a_login(client: Client) -> None:
    response = await client.get("/account/export")
    assert response.status_code == 302
    assert response.location.startswith("/auth/login")


async def test_export_is_a_json_attachment_named_for_the_user(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        response = await client.get("/account/export")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="flasky-john.json"'
    assert response.headers["Cache-Control"] == "no-store"


async def test_export_holds_the_profile_posts_comments_and_follows(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john", name="John Doe", location="Paris", about_me="Hi *there*")
    susan, david = await make_user("susan"), await make_user("david")
    first = utcnow() - timedelta(hours=2)
    older = await add_post(db, john, "my first post", at=first)
    newer = await add_post(db, john, "my second post", at=first + timedelta(hours=1))
    susans = await add_post(db, susan, "susan's post")
    mine = await add_comment(db, susans, john, "john's comment")
    await add_comment(db, older, susan, "susan on john's post")
    await add_follow(db, john, susan)
    await add_follow(db, david, john)

    document = await exported(client, john, signed_in)

    assert document["format"] == "flasky-export"
    assert document["version"] == 1
    profile = document["profile"]
    assert profile["username"] == "john"
    assert profile["email"] == "john@flasky.dev"
    assert (profile["name"], profile["location"], profile["about_me"]) == (
        "John Doe",
        "Paris",
        "Hi *there*",
    )
    assert profile["role"] == "User"
    assert [(p["id"], p["body"]) for p in document["posts"]] == [
        (older.id, "my first post"),
        (newer.id, "my second post"),
    ]
    assert document["posts"][0]["timestamp"] == first.isoformat().replace("+00:00", "Z")
    assert [(c["id"], c["post_id"], c["body"]) for c in document["comments"]] == [
        (mine.id, susans.id, "john's comment")
    ]
    assert [f["username"] for f in document["following"]] == ["susan"]
    assert [f["username"] for f in document["followers"]] == ["david"]
    assert document["followers"][0]["since"].endswith("Z")


async def test_export_holds_the_messages_sent_and_received(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john, susan, david = [await make_user(name) for name in ("john", "susan", "david")]
    received = await add_message(db, susan, john, "hello john", age=20)
    sent = await add_message(db, john, susan, "hello *susan*", age=10)
    await add_message(db, susan, david, "not john's")

    document = await exported(client, john, signed_in)

    assert [(m["id"], m["from"], m["to"], m["body"]) for m in document["messages"]] == [
        (received.id, "susan", "john", "hello john"),
        (sent.id, "john", "susan", "hello *susan*"),
    ]
    assert document["messages"][0]["timestamp"].endswith("Z")


async def test_export_holds_no_secret_and_nothing_of_others(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    await add_follow(db, susan, john)
    await add_post(db, susan, "susan's own post")
    async with signed_in(client, john):
        text = await read_html(await client.get("/account/export"), status=200)
    for secret in (
        john.password_hash,
        john.session_id,
        john.avatar_hash,
        susan.email,
        susan.avatar_hash,
        "susan's own post",
    ):
        assert secret is not None and secret not in text
    assert "password" not in text
    assert "session_generation" not in text


async def test_export_holds_no_two_factor_secret_or_recovery_code(
    client: Client,
    make_user: MakeUser,
    signed_in: SignedIn,
    submit: Submit,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        enabled = await two_factor.enable(client, submit, two_factor.freeze(monkeypatch))
        text = await read_html(await client.get("/account/export"), status=200)
    assert json.loads(text)["profile"]["username"] == "john"
    for secret in (enabled.secret, *enabled.recovery_codes):
        assert secret not in text
    assert "two_factor" not in text


async def test_export_pages_repeat_and_miss_nothing(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(export, "PAGE_SIZE", 3)
    john = await make_user("john")
    same_time = utcnow() - timedelta(minutes=1)
    # Posts written in the same instant: the page boundary falls between them.
    posts = [await add_post(db, john, f"post {n}", at=same_time) for n in range(7)]
    later = [await add_post(db, john, f"later {n}", age=n) for n in (2, 1, 0)]
    followers = [await make_user(f"follower{n}") for n in range(6)]
    for follower in followers:
        await add_follow(db, follower, john)

    document = await exported(client, john, signed_in)

    assert [p["id"] for p in document["posts"]] == [post.id for post in posts + later]
    assert sorted(f["username"] for f in document["followers"]) == sorted(
        follower.username for follower in followers
    )


async def _export_statements(
    client: Client, john: User, signed_in: SignedIn, count_statements: CountStatements
) -> int:
    async with signed_in(client, john):
        await client.get("/account/export")
        with count_statements() as statements:
            response = await client.get("/account/export")
    assert response.status_code == 200
    return len(statements)


async def test_export_statement_count_does_not_grow_with_items(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    count_statements: CountStatements,
) -> None:
    john = await make_user("john")
    others = [await make_user(f"user{n}") for n in range(20)]

    async def add_items(users: list[User]) -> None:
        for user in users:
            post = await add_post(db, john, f"for {user.username}")
            await add_comment(db, post, john)
            await add_follow(db, john, user)
            await add_follow(db, user, john)

    await add_items(others[:1])
    one = await _export_statements(client, john, signed_in, count_statements)
    await add_items(others[1:])
    twenty = await _export_statements(client, john, signed_in, count_statements)
    assert one == twenty


async def _peak_memory(client: Client, user: User, signed_in: SignedIn) -> tuple[int, int]:
    """The traced memory peak while downloading `user`'s export, and the document's size."""
    size = 0
    gc.collect()
    async with signed_in(client, user):
        tracemalloc.start()
        try:
            async for chunk in download(client):
                size += len(chunk)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak, size


async def _add_long_posts(db: AsyncSession, author: User, count: int) -> None:
    """`count` posts of 1,000 characters, inserted a thousand a statement (no rendering)."""
    newest = utcnow()
    for start in range(0, count, 1000):
        await db.execute(
            insert(Post),
            [
                {
                    "body": f"post {n} " + "x" * 1000,
                    "body_html": "",
                    "author_id": author.id,
                    "timestamp": newest - timedelta(seconds=n),
                }
                for n in range(start, min(start + 1000, count))
            ],
        )
    await db.commit()


async def test_export_of_10000_posts_takes_no_more_memory_than_of_10(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Pages of 10: the 10 posts fill one page, the 10,000 take a thousand of
    # them, and a document built whole would hold all 10 MB at once.
    monkeypatch.setattr(export, "PAGE_SIZE", 10)
    counts = {"warm": 100, "small": 10, "large": 10_000}
    users = {name: await make_user(name) for name in counts}
    for name, posts in counts.items():
        await _add_long_posts(db, users[name], posts)
    # Caches, pools and the interpreter's tables reach their size on a first
    # export of several pages; what the next ones take is the export's own.
    await _peak_memory(client, users["warm"], signed_in)
    small_peak, small_size = await _peak_memory(client, users["small"], signed_in)
    large_peak, large_size = await _peak_memory(client, users["large"], signed_in)
    print(
        f"export peak memory: 10 posts {small_peak} B ({small_size} B sent), "
        f"10,000 posts {large_peak} B ({large_size} B sent)"
    )
    assert large_size > 10_000_000
    # What the 10,000 add is a page in flight while the next is read, and the
    # garbage collector's timing: under 2% of the document, where building it
    # whole would add all of it.
    assert large_peak - small_peak < large_size / 50


async def test_export_holds_no_connection_while_the_client_reads(
    app: Quart,
    db: AsyncSession,
    make_user: MakeUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(export, "PAGE_SIZE", 2)
    john = await make_user("john")
    for n in range(5):
        await add_post(db, john, f"post {n}")
    await db.commit()
    engine = app.extensions["db_engine"]
    idle = engine.pool.checkedout()
    chunks = export.export_document(engine, john.id, {})
    received = []
    # Each pause between two chunks is a client that has not read on yet.
    async for chunk in chunks:
        received.append(chunk)
        assert engine.pool.checkedout() == idle
    document = json.loads(b"".join(received))
    assert [p["body"] for p in document["posts"]] == [f"post {n}" for n in range(5)]
