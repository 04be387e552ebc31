"""GET and POST /account/delete: the account goes with everything of its own (SPEC 8.5)."""

from __future__ import annotations

import pytest
from quart import Quart, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import (
    ApiToken,
    Base,
    Block,
    Comment,
    Follow,
    Message,
    Notification,
    NotificationKind,
    Post,
    User,
)

from . import two_factor
from .blog import add_block, add_comment, add_follow, add_message, add_post
from .conftest import Mailbox
from .fixtures import ApiAuth, Client, Login, MakeUser, SignedIn, Submit, read_html

PASSWORD = "cat-password"


async def delete_account(
    client: Client, submit: Submit, password: str = PASSWORD, **data: str
) -> Response:
    return await submit(client, "/account/delete", {"password": password, **data})


async def user_exists(db: AsyncSession, username: str) -> bool:
    found = await db.scalar(select(User.id).where(User.username == username))
    await db.commit()
    return found is not None


async def rows(db: AsyncSession, model: type[Base]) -> int:
    count = await db.scalar(select(func.count()).select_from(model))
    await db.commit()
    return count or 0


async def test_delete_page_needs_a_login(client: Client) -> None:
    response = await client.get("/account/delete")
    assert response.status_code == 302
    assert response.location.startswith("/auth/login")


async def test_delete_page_says_what_goes_and_asks_for_the_password(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    post = await add_post(db, john)
    await add_post(db, john)
    await add_comment(db, post, john)
    await add_follow(db, susan, john)
    async with signed_in(client, john):
        html = await read_html(await client.get("/account/delete"), status=200)
    assert "<h1>Delete Your Account</h1>" in html
    assert "your 2 posts, with every comment written on them;" in html
    assert "your 1 comment;" in html
    assert "your 1 follower;" in html
    assert 'href="/account/export"' in html
    assert 'name="password"' in html
    assert 'name="csrf_token"' in html


async def test_wrong_password_shows_the_form_again_and_deletes_nothing(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, submit: Submit
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        response = await delete_account(client, submit, "dog-password")
        html = await read_html(response, status=200)
        assert "Invalid password." in html
        assert 'name="password"' in html
        assert (await client.get("/account/delete")).status_code == 200
    assert await user_exists(db, "john")


async def test_wrong_passwords_count_towards_the_login_throttle(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    submit: Submit,
    login: Login,
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        for _ in range(5):
            response = await delete_account(client, submit, "dog-password")
            assert response.status_code == 200
        refused = await delete_account(client, submit)
        assert refused.status_code == 429
        assert "Too many failed attempts" in await read_html(refused)
    assert await user_exists(db, "john")
    assert (await login(client, "john@flasky.dev")).status_code == 429


async def test_without_csrf_token_nothing_is_deleted(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        response = await client.post("/account/delete", form={"password": PASSWORD})
    assert response.status_code == 400
    assert await user_exists(db, "john")


async def test_deleting_signs_out_and_says_so(
    client: Client, make_user: MakeUser, login: Login, submit: Submit
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    response = await delete_account(client, submit)
    assert response.status_code == 302
    assert response.location == "/"
    html = await read_html(await client.get("/"), status=200)
    assert "Your account has been deleted." in html
    assert "Hello, Stranger!" in html


async def test_deleting_takes_posts_comments_follows_and_tokens_along(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    submit: Submit,
    api_auth: ApiAuth,
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    johns_post = await add_post(db, john, "john's post")
    susans_post = await add_post(db, susan, "susan's post")
    await add_comment(db, johns_post, susan, "susan on john's post")
    await add_comment(db, susans_post, john, "john on susan's post")
    await add_comment(db, susans_post, susan, "susan on her own post")
    await add_follow(db, john, susan)
    await add_follow(db, susan, john)
    minted = await client.post("/api/v1/tokens/", headers=api_auth("john@flasky.dev", PASSWORD))
    token = (await minted.get_json())["token"]

    async with signed_in(client, john):
        assert (await delete_account(client, submit)).status_code == 302

    assert not await user_exists(db, "john")
    assert await rows(db, Post) == 1
    remaining = (await db.scalars(select(Comment.body))).all()
    assert remaining == ["susan on her own post"]
    assert await rows(db, Follow) == 0
    assert await db.scalar(select(func.count()).select_from(ApiToken)) == 0
    response = await client.get("/api/v1/posts/", headers=api_auth(token))
    assert response.status_code == 401


async def test_deleting_takes_messages_notifications_and_blocks_along(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, submit: Submit
) -> None:
    john, susan, david = [await make_user(name) for name in ("john", "susan", "david")]
    await add_message(db, john, susan, "from john")
    await add_message(db, susan, john, "to john")
    kept = await add_message(db, susan, david, "between the others")
    db.add_all(
        [
            Notification(user_id=john.id, actor_id=susan.id, kind=NotificationKind.FOLLOW),
            Notification(user_id=susan.id, actor_id=john.id, kind=NotificationKind.FOLLOW),
            Notification(user_id=david.id, actor_id=susan.id, kind=NotificationKind.FOLLOW),
        ]
    )
    await db.commit()
    await add_block(db, john, susan)
    await add_block(db, david, john)
    await add_block(db, susan, david)

    async with signed_in(client, john):
        assert (await delete_account(client, submit)).status_code == 302

    assert (await db.scalars(select(Message.id))).all() == [kept.id]
    assert (await db.scalars(select(Notification.user_id))).all() == [david.id]
    assert (await db.scalars(select(Block.blocker_id))).all() == [susan.id]
    assert await rows(db, Block) == 1


async def test_other_users_pages_keep_working(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, submit: Submit
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    johns_post = await add_post(db, john, "john's post")
    susans_post = await add_post(db, susan, "susan's post")
    await add_comment(db, susans_post, john, "john on susan's post")
    await add_comment(db, johns_post, susan, "susan on john's post")
    await add_follow(db, john, susan)
    async with signed_in(client, susan):
        before = await read_html(await client.get("/user/susan"), status=200)
    assert 'Followers: <span class="badge text-bg-secondary">1</span>' in before
    async with signed_in(client, john):
        await delete_account(client, submit)

    async with signed_in(client, susan):
        profile = await read_html(await client.get("/user/susan"), status=200)
        post = await read_html(await client.get(f"/post/{susans_post.id}"), status=200)
        index = await read_html(await client.get("/"), status=200)
        followers = await read_html(await client.get("/followers/susan"), status=200)
        assert (await client.get(f"/post/{johns_post.id}")).status_code == 404
        assert (await client.get("/user/john")).status_code == 404
    assert 'Followers: <span class="badge text-bg-secondary">0</span>' in profile
    assert "john on susan's post" not in post
    assert "john's post" not in index
    assert "/user/john" not in followers


async def test_sessions_elsewhere_end_with_the_account(
    app: Quart, make_user: MakeUser, signed_in: SignedIn, submit: Submit
) -> None:
    john = await make_user("john")
    browser, other_browser = app.test_client(), app.test_client()
    async with signed_in(other_browser, john):
        assert "Hello, john!" in await read_html(await other_browser.get("/"))
        async with signed_in(browser, john):
            await delete_account(browser, submit)
        assert "Hello, Stranger!" in await read_html(await other_browser.get("/"), status=200)
        response = await other_browser.get("/account/delete")
        assert response.status_code == 302
        assert response.location.startswith("/auth/login")


async def test_username_and_email_are_free_again(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, submit: Submit
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        await delete_account(client, submit)
    form = {
        "email": "john@flasky.dev",
        "username": "john",
        "password": "new-cat-password",
        "password2": "new-cat-password",
    }
    response = await submit(client, "/auth/register", form)
    assert response.status_code == 302
    assert await user_exists(db, "john")


async def test_a_mail_says_the_account_was_deleted(
    client: Client, make_user: MakeUser, signed_in: SignedIn, submit: Submit, mailbox: Mailbox
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        await delete_account(client, submit)
    [message] = mailbox.to("john@flasky.dev")
    assert "Your account has been deleted" in str(message["Subject"])
    assert "has been deleted" in mailbox.body(message)
    assert "has been deleted" in mailbox.body(message, "html")
    assert [link.endswith("/auth/register") for link in mailbox.links(message)] == [True]


async def test_the_last_administrator_cannot_leave(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, submit: Submit
) -> None:
    admin = await make_user("admin", role="Administrator")
    await make_user("moderator", role="Moderator")
    async with signed_in(client, admin):
        page = await read_html(await client.get("/account/delete"), status=200)
        response = await delete_account(client, submit)
    assert "only administrator" in page
    assert 'name="password"' not in page
    assert "only administrator" in await read_html(response, status=400)
    assert await user_exists(db, "admin")


async def test_an_administrator_can_leave_while_another_stays(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, submit: Submit
) -> None:
    first = await make_user("first", role="Administrator")
    await make_user("second", role="Administrator")
    async with signed_in(client, first):
        response = await delete_account(client, submit)
    assert response.status_code == 302
    assert not await user_exists(db, "first")
    assert await user_exists(db, "second")


async def test_a_deleted_accounts_cookie_never_signs_in_the_next_newcomer(
    app: Quart, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn, submit: Submit
) -> None:
    # John is the newest account: SQLite would give his id to the next row
    # unless the table forbids reuse, and his cookie would then name that row.
    await make_user("susan")
    john = await make_user("john")
    copied, browser, newcomer = app.test_client(), app.test_client(), app.test_client()
    async with signed_in(copied, john):
        async with signed_in(browser, john):
            await delete_account(browser, submit)
        form = {
            "email": "mallory@flasky.dev",
            "username": "mallory",
            "password": "mallory-password",
            "password2": "mallory-password",
        }
        assert (await submit(newcomer, "/auth/register", form)).status_code == 302
        mallory_id = await db.scalar(select(User.id).where(User.username == "mallory"))
        response = await copied.get("/")
    assert mallory_id != john.id
    assert "Hello, Stranger!" in await read_html(response, status=200)


async def test_with_two_factor_on_deletion_needs_a_code(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    submit: Submit,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = two_factor.freeze(monkeypatch)
    john = await make_user("john")
    async with signed_in(client, john):
        enabled = await two_factor.enable(client, submit, clock)
        assert 'name="code"' in await read_html(await client.get("/account/delete"), status=200)
        missing = await delete_account(client, submit)
        assert missing.status_code == 200
        wrong = await delete_account(client, submit, code="123456")
        assert "Invalid password or code." in await read_html(wrong, status=200)
        assert await user_exists(db, "john")
        right = await delete_account(client, submit, code=two_factor.code(enabled.secret, clock))
        assert right.status_code == 302
    assert not await user_exists(db, "john")
