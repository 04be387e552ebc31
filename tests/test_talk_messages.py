"""Private messages: the inbox, a conversation, sending, and who may read or write (SPEC 8.4)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.limits import MESSAGE_BODY_MAX, MESSAGES_PER_WINDOW
from service.models import Message, Notification, Permission

from .blog import add_message, add_role
from .fixtures import Client, Csrf, MakeUser, SignedIn, read_html


async def send(client: Client, csrf: Csrf, username: str, body: str) -> tuple[int, str]:
    token = await csrf(client, "/")
    response = await client.post(f"/messages/{username}", form={"body": body, "csrf_token": token})
    return response.status_code, await response.get_data(as_text=True)


async def _messages(db: AsyncSession) -> int:
    return await db.scalar(select(func.count()).select_from(Message)) or 0


def _row(inbox: str, username: str) -> str:
    """The inbox row of the conversation with `username`, from its link on."""
    row = inbox[inbox.index(f"/messages/{username}") :]
    return row[: row.index("</tr>")]


async def test_pages_need_a_login(client: Client, make_user: MakeUser) -> None:
    await make_user("susan")
    for path in ("/messages", "/messages/susan"):
        response = await client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login")


async def test_send_a_message_and_read_it_on_both_sides(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    async with signed_in(client, john):
        status, _ = await send(client, csrf, "susan", "Hello *Susan*")
        assert status == 302
        html = await read_html(await client.get("/messages/susan"), status=200)
        assert "Hello <em>Susan</em>" in html
    async with signed_in(client, susan):
        html = await read_html(await client.get("/messages/john"), status=200)
    assert "Hello <em>Susan</em>" in html


async def test_message_html_is_sanitized_with_the_comment_allow_list(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf, db: AsyncSession
) -> None:
    await make_user("susan")
    async with signed_in(client, await make_user("john")):
        await send(client, csrf, "susan", "# Big\n<script>alert(1)</script><img src=x onerror=y>")
    stored = (await db.scalars(select(Message.body_html))).one()
    assert "<script" not in stored and "<img" not in stored and "<h1>" not in stored


async def test_nobody_else_can_read_a_conversation_by_any_url(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    await add_message(db, john, susan, "secret between john and susan")
    async with signed_in(client, await make_user("eve")):
        for path in ("/messages/john", "/messages/susan", "/messages"):
            html = await read_html(await client.get(path), status=200)
            assert "secret between" not in html
        assert (await client.get("/messages/john/susan")).status_code == 404
        assert (await client.get("/messages/nobody")).status_code == 404


async def test_a_message_to_yourself_is_refused(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf, db: AsyncSession
) -> None:
    async with signed_in(client, await make_user("john")):
        status, html = await send(client, csrf, "john", "Hi me")
    assert status == 400
    assert "You cannot send messages to yourself." in html
    assert await _messages(db) == 0


async def test_unconfirmed_users_cannot_send(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf, db: AsyncSession
) -> None:
    # The page sends an unconfirmed account to confirm its address; sending is refused.
    await make_user("susan")
    async with signed_in(client, await make_user("john", confirmed=False)):
        page = await client.get("/messages/susan")
        token = await csrf(client, "/auth/unconfirmed")
        response = await client.post("/messages/susan", form={"body": "Hi", "csrf_token": token})
    assert page.status_code == 302
    assert page.headers["Location"] == "/auth/unconfirmed"
    assert response.status_code == 403
    assert "Please confirm your account first" in await response.get_data(as_text=True)
    assert await _messages(db) == 0


async def test_users_without_comment_permission_cannot_send(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf, db: AsyncSession
) -> None:
    await add_role(db, "Follower", Permission.FOLLOW)
    await make_user("susan")
    async with signed_in(client, await make_user("john", role="Follower")):
        status, _ = await send(client, csrf, "susan", "Hi")
    assert status == 403
    assert await _messages(db) == 0


@pytest.mark.parametrize("body", ["", "   ", "x" * (MESSAGE_BODY_MAX + 1)])
async def test_empty_or_overlong_messages_are_refused(
    body: str,
    client: Client,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
    db: AsyncSession,
) -> None:
    await make_user("susan")
    async with signed_in(client, await make_user("john")):
        status, _ = await send(client, csrf, "susan", body)
    assert status == 400
    assert await _messages(db) == 0


async def test_without_csrf_token_nothing_is_sent(
    client: Client, make_user: MakeUser, signed_in: SignedIn, db: AsyncSession
) -> None:
    await make_user("susan")
    async with signed_in(client, await make_user("john")):
        response = await client.post("/messages/susan", form={"body": "Hi"})
    assert response.status_code == 400
    assert await _messages(db) == 0


async def test_inbox_lists_conversations_newest_first_and_marks_unread(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john, susan, david = [await make_user(name) for name in ("john", "susan", "david")]
    await add_message(db, john, susan, "old, from john", age=100)
    await add_message(db, susan, david, "newer, to david", age=10)
    async with signed_in(client, susan):
        html = await read_html(await client.get("/messages"), status=200)
    assert html.index("/messages/david") < html.index("/messages/john")
    assert "1 unread" in _row(html, "john")
    assert "unread" not in _row(html, "david")


async def test_reading_a_conversation_marks_it_read(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    await add_message(db, john, susan, "hello")
    async with signed_in(client, susan):
        assert "1 unread" in await read_html(await client.get("/messages"))
        await client.get("/messages/john")
        html = await read_html(await client.get("/messages"))
    assert "unread" not in _row(html, "john")
    assert (await db.scalars(select(Message.read))).all() == [True]


async def test_sending_notifies_the_recipient(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    await make_user("john")
    susan = await make_user("susan")
    async with signed_in(client, await make_user("david")):
        await send(client, csrf, "susan", "Hi")
    notification = (await db.scalars(select(Notification))).one()
    assert (notification.user_id, notification.kind) == (susan.id, "message")


async def test_more_than_the_limit_a_minute_is_refused_with_retry_after(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    for n in range(MESSAGES_PER_WINDOW - 1):
        await add_message(db, john, susan, f"m{n}", age=30)
    async with signed_in(client, john):
        assert (await send(client, csrf, "susan", "the last allowed"))[0] == 302
        token = await csrf(client, "/")
        response = await client.post(
            "/messages/susan", form={"body": "one too many", "csrf_token": token}
        )
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 31
    assert await _messages(db) == MESSAGES_PER_WINDOW


async def test_messages_older_than_a_minute_do_not_count(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    for n in range(MESSAGES_PER_WINDOW):
        await add_message(db, john, susan, f"m{n}", age=61)
    async with signed_in(client, john):
        assert (await send(client, csrf, "susan", "allowed again"))[0] == 302
