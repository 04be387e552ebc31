"""Changing a password, and resetting a forgotten one by e-mail."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from quart import Quart
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import ApiToken, User, utcnow
from service.signed_links import CONFIRM, MAX_AGE, RESET_PASSWORD, make_token
from tests.conftest import Mailbox, free_port

from .fixtures import Client, Csrf, Login, MakeUser, Reconfigure, Submit

NEW = {"password": "new-password", "password2": "new-password"}
FLASH_SENT = "An email with instructions to reset your password has been sent to you."


async def page(client: Client, path: str = "/") -> str:
    return await (await client.get(path)).get_data(as_text=True)


async def logs_in(app: Quart, email: str, password: str, login: Login) -> bool:
    """Whether a fresh browser can log in with these credentials."""
    response = await login(app.test_client(), email, password)
    return response.status_code == 302


async def reset_token(app: Quart, user: User) -> str:
    async with app.app_context():
        return make_token(RESET_PASSWORD, user)


# Changing the password


async def test_change_password_page_has_the_form(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    html = await page(client, "/auth/change-password")
    for name in ("old_password", "password", "password2", "csrf_token"):
        assert f'name="{name}"' in html


async def test_change_password(
    app: Quart, client: Client, make_user: MakeUser, login: Login, submit: Submit
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    response = await submit(
        client, "/auth/change-password", {"old_password": "cat-password", **NEW}
    )
    assert response.location == "/"
    assert "Your password has been updated." in await page(client)
    assert await logs_in(app, "john@flasky.dev", "new-password", login)
    assert not await logs_in(app, "john@flasky.dev", "cat-password", login)


async def test_change_password_needs_the_old_one(
    app: Quart, client: Client, make_user: MakeUser, login: Login, submit: Submit
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    response = await submit(
        client, "/auth/change-password", {"old_password": "dog-password", **NEW}
    )
    assert "Invalid password." in await response.get_data(as_text=True)
    assert await logs_in(app, "john@flasky.dev", "cat-password", login)


async def test_change_password_refuses_a_short_one(
    app: Quart, client: Client, make_user: MakeUser, login: Login, submit: Submit
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    form = {"old_password": "cat-password", "password": "short", "password2": "short"}
    response = await submit(client, "/auth/change-password", form)
    assert "Passwords must have between 8 and" in await response.get_data(as_text=True)
    assert await logs_in(app, "john@flasky.dev", "cat-password", login)


async def test_change_password_without_csrf_token_is_refused(
    app: Quart, client: Client, make_user: MakeUser, login: Login
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    response = await client.post(
        "/auth/change-password", form={"old_password": "cat-password", **NEW}
    )
    assert response.status_code == 400
    assert await logs_in(app, "john@flasky.dev", "cat-password", login)


async def test_change_password_ends_other_sessions_and_keeps_this_one(
    app: Quart, client: Client, make_user: MakeUser, login: Login, submit: Submit
) -> None:
    await make_user("john")
    other_browser = app.test_client()
    await login(other_browser, "john@flasky.dev")
    await login(client, "john@flasky.dev")
    await submit(client, "/auth/change-password", {"old_password": "cat-password", **NEW})
    assert "Hello, john!" in await page(client)
    assert "Hello, Stranger!" in await page(other_browser)


async def test_change_password_revokes_api_tokens(
    client: Client, make_user: MakeUser, login: Login, submit: Submit, db: AsyncSession
) -> None:
    john = await make_user("john")
    expires = utcnow() + timedelta(hours=1)
    db.add(ApiToken(token_hash="a" * 64, user_id=john.id, expires_at=expires))
    await db.commit()
    await login(client, "john@flasky.dev")
    await submit(client, "/auth/change-password", {"old_password": "cat-password", **NEW})
    assert await db.scalar(select(func.count()).select_from(ApiToken)) == 0


# Resetting a forgotten password


async def test_reset_request_mails_a_link(
    client: Client, make_user: MakeUser, submit: Submit, mailbox: Mailbox
) -> None:
    await make_user("john")
    response = await submit(client, "/auth/reset", {"email": "John@flasky.dev"})
    assert response.location == "/auth/login"
    assert FLASH_SENT in await page(client, "/auth/login")
    [message] = mailbox.to("john@flasky.dev")
    assert message["Subject"] == "[Flasky] Reset Your Password"
    [link] = mailbox.links(message)
    assert link.startswith("http://localhost/auth/reset/")
    assert link in Mailbox.body(message, "html")


async def test_reset_request_answers_the_same_while_mail_is_down(
    app: Quart,
    make_user: MakeUser,
    submit: Submit,
    reconfigure: Reconfigure,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await make_user("john")
    reconfigure(mail_port=free_port())  # nothing listens there
    answers = []
    for email in ("john@flasky.dev", "nobody@flasky.dev"):
        client = app.test_client()
        response = await submit(client, "/auth/reset", {"email": email})
        follow = await client.get(response.location)
        answers.append((response.status_code, FLASH_SENT in await follow.get_data(as_text=True)))
    assert answers[0] == answers[1] == (302, True)
    assert "Could not send" in caplog.text


async def test_reset_request_answers_the_same_for_unknown_address(
    app: Quart, make_user: MakeUser, submit: Submit, mailbox: Mailbox
) -> None:
    await make_user("john")
    answers = []
    for email in ("john@flasky.dev", "nobody@flasky.dev"):
        client = app.test_client()
        response = await submit(client, "/auth/reset", {"email": email})
        follow = await client.get(response.location)
        flash_shown = FLASH_SENT in await follow.get_data(as_text=True)
        answers.append((response.status_code, response.location, flash_shown))
    assert answers[0] == answers[1] == (302, "/auth/login", True)
    assert len(mailbox.messages) == 1


async def test_reset_link_sets_a_new_password(
    app: Quart, client: Client, make_user: MakeUser, submit: Submit, login: Login
) -> None:
    john = await make_user("john")
    path = f"/auth/reset/{await reset_token(app, john)}"
    assert 'name="password2"' in await page(client, path)
    response = await submit(client, path, NEW)
    assert response.location == "/auth/login"
    assert "Your password has been updated." in await page(client, "/auth/login")
    assert await logs_in(app, "john@flasky.dev", "new-password", login)


async def test_reset_link_works_only_once(
    app: Quart,
    client: Client,
    make_user: MakeUser,
    submit: Submit,
    login: Login,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    path = f"/auth/reset/{await reset_token(app, john)}"
    await submit(client, path, NEW)
    again = {"password": "third-password", "password2": "third-password"}
    response = await client.post(path, form={**again, "csrf_token": await csrf(client)})
    assert response.location == "/auth/reset"
    assert await logs_in(app, "john@flasky.dev", "new-password", login)


async def test_reset_link_dies_when_the_password_changes(
    app: Quart,
    client: Client,
    make_user: MakeUser,
    submit: Submit,
    login: Login,
) -> None:
    john = await make_user("john")
    path = f"/auth/reset/{await reset_token(app, john)}"
    await login(client, "john@flasky.dev")
    await submit(client, "/auth/change-password", {"old_password": "cat-password", **NEW})
    response = await app.test_client().get(path)
    assert response.location == "/auth/reset"


async def test_reset_ends_existing_sessions(
    app: Quart, client: Client, make_user: MakeUser, submit: Submit, login: Login
) -> None:
    john = await make_user("john")
    logged_in = app.test_client()
    await login(logged_in, "john@flasky.dev")
    await submit(client, f"/auth/reset/{await reset_token(app, john)}", NEW)
    assert "Hello, Stranger!" in await page(logged_in)


async def test_expired_reset_link_is_refused(
    app: Quart, client: Client, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    john = await make_user("john")
    issued = int(time.time()) - MAX_AGE - 1
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda _self: issued)
        token = await reset_token(app, john)
    response = await client.get(f"/auth/reset/{token}", follow_redirects=True)
    assert "The password reset link is invalid or has expired." in await response.get_data(
        as_text=True
    )


async def test_tampered_reset_link_is_refused(
    app: Quart, client: Client, make_user: MakeUser
) -> None:
    john = await make_user("john")
    token = await reset_token(app, john)
    # The first character always carries six payload bits (the last may be padding).
    tampered = ("A" if token[0] != "A" else "B") + token[1:]
    response = await client.get(f"/auth/reset/{tampered}")
    assert response.location == "/auth/reset"


async def test_confirm_token_is_no_reset_token(
    app: Quart, client: Client, make_user: MakeUser, submit: Submit, login: Login
) -> None:
    john = await make_user("john")
    async with app.app_context():
        token = make_token(CONFIRM, john)
    response = await submit(client, f"/auth/reset/{token}", NEW)
    assert response.location == "/auth/reset"
    assert await logs_in(app, "john@flasky.dev", "cat-password", login)


async def test_reset_link_uses_base_url_not_the_host_header(
    client: Client,
    make_user: MakeUser,
    submit: Submit,
    mailbox: Mailbox,
    reconfigure: Reconfigure,
) -> None:
    await make_user("john")
    reconfigure(base_url="https://flasky.example.com")
    await submit(
        client, "/auth/reset", {"email": "john@flasky.dev"}, headers={"Host": "evil.example"}
    )
    [link] = mailbox.links(mailbox.to("john@flasky.dev")[0])
    assert link.startswith("https://flasky.example.com/auth/reset/")


async def test_logged_in_user_is_sent_home_from_reset(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    response = await client.get("/auth/reset")
    assert response.location == "/"
