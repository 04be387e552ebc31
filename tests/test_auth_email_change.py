"""Changing the e-mail address: a link mailed to the new address applies it."""

from __future__ import annotations

from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import User
from service.signed_links import CHANGE_EMAIL, CONFIRM, make_token
from tests.conftest import Mailbox

from .fixtures import Client, Login, MakeUser, Submit

REQUEST = {"email": "John.New@Flasky.dev", "password": "cat-password"}


async def page(client: Client, path: str = "/") -> str:
    return await (await client.get(path)).get_data(as_text=True)


async def email_of(db: AsyncSession, user: User) -> str:
    await db.refresh(user)
    return user.email


async def change_token(app: Quart, user: User, new_email: str) -> str:
    async with app.app_context():
        return make_token(CHANGE_EMAIL, user, new_email=new_email)


async def test_change_email_page_has_the_form(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    html = await page(client, "/auth/change_email")
    for name in ("email", "password", "csrf_token"):
        assert f'name="{name}"' in html


async def test_request_mails_a_link_to_the_new_address(
    client: Client, make_user: MakeUser, login: Login, submit: Submit, mailbox: Mailbox
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    response = await submit(client, "/auth/change_email", REQUEST)
    assert response.location == "/"
    assert "confirm your new email address has been sent to you" in await page(client)
    assert mailbox.to("john@flasky.dev") == []
    [message] = mailbox.to("john.new@flasky.dev")
    [link] = mailbox.links(message)
    assert link.startswith("http://localhost/auth/change_email/")


async def test_mailed_link_changes_the_address(
    client: Client,
    make_user: MakeUser,
    login: Login,
    submit: Submit,
    mailbox: Mailbox,
    db: AsyncSession,
) -> None:
    john = await make_user("john")
    await login(client, "john@flasky.dev")
    await submit(client, "/auth/change_email", REQUEST)
    [link] = mailbox.links(mailbox.to("john.new@flasky.dev")[0])
    response = await client.get(link.removeprefix("http://localhost"), follow_redirects=True)
    assert "Your email address has been updated." in await response.get_data(as_text=True)
    assert await email_of(db, john) == "john.new@flasky.dev"
    assert john.avatar_hash == User.email_hash("john.new@flasky.dev")


async def test_request_needs_the_password(
    client: Client, make_user: MakeUser, login: Login, submit: Submit, mailbox: Mailbox
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    response = await submit(client, "/auth/change_email", {**REQUEST, "password": "dog-password"})
    assert "Invalid email or password." in await response.get_data(as_text=True)
    assert mailbox.messages == []


async def test_request_for_a_taken_address_is_refused(
    client: Client, make_user: MakeUser, login: Login, submit: Submit, mailbox: Mailbox
) -> None:
    await make_user("john")
    await make_user("susan")
    await login(client, "john@flasky.dev")
    response = await submit(client, "/auth/change_email", {**REQUEST, "email": "Susan@flasky.dev"})
    assert "Email already registered." in await response.get_data(as_text=True)
    assert mailbox.messages == []


async def test_link_is_refused_once_the_address_was_taken(
    app: Quart,
    client: Client,
    make_user: MakeUser,
    login: Login,
    db: AsyncSession,
) -> None:
    john = await make_user("john")
    token = await change_token(app, john, "wanted@flasky.dev")
    await make_user("quick", email="wanted@flasky.dev")
    await login(client, "john@flasky.dev")
    response = await client.get(f"/auth/change_email/{token}", follow_redirects=True)
    assert "Email already registered." in await response.get_data(as_text=True)
    assert await email_of(db, john) == "john@flasky.dev"


async def test_link_of_another_user_is_refused(
    app: Quart, client: Client, make_user: MakeUser, login: Login, db: AsyncSession
) -> None:
    john = await make_user("john")
    await make_user("susan")
    token = await change_token(app, john, "new@flasky.dev")
    await login(client, "susan@flasky.dev")
    response = await client.get(f"/auth/change_email/{token}", follow_redirects=True)
    assert "Invalid request." in await response.get_data(as_text=True)
    assert await email_of(db, john) == "john@flasky.dev"


async def test_link_works_only_once(
    app: Quart, client: Client, make_user: MakeUser, login: Login, db: AsyncSession
) -> None:
    john = await make_user("john")
    first = await change_token(app, john, "first@flasky.dev")
    second = await change_token(app, john, "second@flasky.dev")
    await login(client, "john@flasky.dev")
    await client.get(f"/auth/change_email/{first}")
    response = await client.get(f"/auth/change_email/{second}", follow_redirects=True)
    assert "Invalid request." in await response.get_data(as_text=True)
    assert await email_of(db, john) == "first@flasky.dev"


async def test_confirm_token_does_not_change_the_address(
    app: Quart, client: Client, make_user: MakeUser, login: Login, db: AsyncSession
) -> None:
    john = await make_user("john")
    async with app.app_context():
        token = make_token(CONFIRM, john)
    await login(client, "john@flasky.dev")
    response = await client.get(f"/auth/change_email/{token}", follow_redirects=True)
    assert "Invalid request." in await response.get_data(as_text=True)
    assert await email_of(db, john) == "john@flasky.dev"


async def test_link_needs_a_login(app: Quart, client: Client, make_user: MakeUser) -> None:
    john = await make_user("john")
    token = await change_token(app, john, "new@flasky.dev")
    response = await client.get(f"/auth/change_email/{token}")
    assert response.location.startswith("/auth/login?next=/auth/change_email/")
