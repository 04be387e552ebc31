"""Registration: the form, its checks, the account it creates and the mail it sends."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from service.models import User
from service.passwords import MAX_LENGTH
from tests.conftest import Mailbox, free_port

from .fixtures import Client, Reconfigure, SignedIn, Submit

FORM = {
    "email": "Susan@Flasky.dev",
    "username": "susan",
    "password": "cat-password",
    "password2": "cat-password",
}


async def user_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(User)) or 0)


async def load_user(db: AsyncSession, email: str) -> User | None:
    return await db.scalar(select(User).options(joinedload(User.role)).where(User.email == email))


async def test_register_page_has_the_form(client: Client) -> None:
    response = await client.get("/auth/register")
    html = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Flasky - Register</title>" in html
    for name in ("email", "username", "password", "password2", "csrf_token"):
        assert f'name="{name}"' in html
    assert 'class="form-control' in html
    assert '<label class="form-label" for="username">Username</label>' in html


async def test_register_creates_unconfirmed_user_with_lowercase_email(
    client: Client, submit: Submit, db: AsyncSession
) -> None:
    response = await submit(client, "/auth/register", FORM)
    assert response.status_code == 302
    assert response.location == "/auth/login"
    user = await load_user(db, "susan@flasky.dev")
    assert user is not None
    assert user.username == "susan"
    assert not user.confirmed
    assert user.role is not None and user.role.name == "User"
    assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")


async def test_register_tells_the_user_to_check_the_mail(client: Client, submit: Submit) -> None:
    response = await submit(client, "/auth/register", FORM, follow_redirects=True)
    assert "A confirmation email has been sent to you by email." in await response.get_data(
        as_text=True
    )


async def test_admin_address_registers_as_administrator(
    client: Client, submit: Submit, db: AsyncSession
) -> None:
    await submit(client, "/auth/register", {**FORM, "email": "Admin@flasky.dev"})
    user = await load_user(db, "admin@flasky.dev")
    assert user is not None and user.role is not None
    assert user.role.name == "Administrator"


async def test_register_sends_confirmation_mail_with_absolute_link(
    client: Client, submit: Submit, mailbox: Mailbox
) -> None:
    await submit(client, "/auth/register", FORM)
    [message] = mailbox.to("susan@flasky.dev")
    assert message["Subject"] == "[Flasky] Confirm Your Account"
    [link] = mailbox.links(message)
    assert link.startswith("http://localhost/auth/confirm/")
    assert link in Mailbox.body(message, "html")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"username": "9lives"}, "Usernames must have only letters, numbers, dots or underscores"),
        ({"username": "su san"}, "Usernames must have only letters, numbers, dots or underscores"),
        ({"username": "s" * 65}, "Field must be between 1 and 64 characters long."),
        ({"password2": "dog-password"}, "Passwords must match."),
        ({"password": "short", "password2": "short"}, "Passwords must have between 8 and"),
        ({"email": "not-an-address"}, "Invalid email address."),
        ({"email": ""}, "This field is required."),
    ],
)
async def test_register_refuses_bad_input(
    client: Client,
    submit: Submit,
    db: AsyncSession,
    changes: dict[str, str],
    message: str,
) -> None:
    response = await submit(client, "/auth/register", {**FORM, **changes})
    assert response.status_code == 200
    assert message in await response.get_data(as_text=True)
    assert await user_count(db) == 0


async def test_overlong_password_is_refused_not_truncated(
    client: Client, submit: Submit, db: AsyncSession
) -> None:
    password = "p" * (MAX_LENGTH + 1)
    response = await submit(
        client, "/auth/register", {**FORM, "password": password, "password2": password}
    )
    assert "Passwords must have between 8 and" in await response.get_data(as_text=True)
    assert await user_count(db) == 0


async def test_duplicate_email_is_refused_whatever_its_case(
    client: Client, submit: Submit, make_user: Callable[..., Awaitable[User]]
) -> None:
    await make_user("susan2", email="susan@flasky.dev")
    response = await submit(client, "/auth/register", FORM)
    assert "Email already registered." in await response.get_data(as_text=True)


async def test_duplicate_username_is_refused_whatever_its_case(
    client: Client, submit: Submit, make_user: Callable[..., Awaitable[User]]
) -> None:
    await make_user("Susan", email="other@flasky.dev")
    response = await submit(client, "/auth/register", FORM)
    assert "Username already in use." in await response.get_data(as_text=True)


@pytest.mark.parametrize("token", [None, "forged-token"])
async def test_register_without_valid_csrf_token_is_refused(
    client: Client, db: AsyncSession, token: str | None
) -> None:
    await client.get("/auth/register")
    form = dict(FORM) if token is None else {**FORM, "csrf_token": token}
    response = await client.post("/auth/register", form=form)
    assert response.status_code == 400
    assert await user_count(db) == 0


async def test_mail_failure_keeps_the_account_and_says_so(
    client: Client,
    submit: Submit,
    db: AsyncSession,
    reconfigure: Reconfigure,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reconfigure(mail_port=free_port())  # nothing listens there
    response = await submit(client, "/auth/register", FORM, follow_redirects=True)
    assert response.status_code == 200
    assert "the confirmation email could not be sent" in await response.get_data(as_text=True)
    assert await load_user(db, "susan@flasky.dev") is not None
    assert "Could not send" in caplog.text


async def test_logged_in_user_is_sent_home_from_register(
    client: Client,
    make_user: Callable[..., Awaitable[User]],
    signed_in: SignedIn,
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        response = await client.get("/auth/register")
    assert response.status_code == 302
    assert response.location == "/"
