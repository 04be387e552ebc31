"""Confirming an account by e-mail, and what an unconfirmed user can reach meanwhile."""

from __future__ import annotations

import time

import pytest
from itsdangerous import TimestampSigner
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import User
from service.signed_links import CONFIRM, MAX_AGE, RESET_PASSWORD, Purpose, make_token
from tests.conftest import Mailbox, free_port

from .fixtures import Client, Csrf, MakeUser, Reconfigure, SignedIn, Submit


async def token_for(app: Quart, purpose: Purpose, user: User) -> str:
    async with app.app_context():
        return make_token(purpose, user)


async def is_confirmed(db: AsyncSession, user: User) -> bool:
    await db.refresh(user)
    return user.confirmed


async def test_mailed_link_confirms_the_account(
    client: Client, submit: Submit, mailbox: Mailbox
) -> None:
    form = {"email": "susan@flasky.dev", "username": "susan"}
    await submit(client, "/auth/register", {**form, "password": "x" * 8, "password2": "x" * 8})
    [link] = mailbox.links(mailbox.to("susan@flasky.dev")[0])
    response = await client.get(link.removeprefix("http://localhost"), follow_redirects=True)
    assert "You have confirmed your account. Thanks!" in await response.get_data(as_text=True)


async def test_confirm_link_works_without_logging_in(
    app: Quart, client: Client, make_user: MakeUser, db: AsyncSession
) -> None:
    susan = await make_user("susan", confirmed=False)
    response = await client.get(f"/auth/confirm/{await token_for(app, CONFIRM, susan)}")
    assert response.status_code == 302
    assert response.location == "/auth/login"
    assert await is_confirmed(db, susan)


async def test_tampered_confirm_token_is_refused(
    app: Quart, client: Client, make_user: MakeUser, db: AsyncSession
) -> None:
    susan = await make_user("susan", confirmed=False)
    token = await token_for(app, CONFIRM, susan)
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    response = await client.get(f"/auth/confirm/{tampered}", follow_redirects=True)
    assert "The confirmation link is invalid or has expired." in await response.get_data(
        as_text=True
    )
    assert not await is_confirmed(db, susan)


async def test_expired_confirm_token_is_refused(
    app: Quart,
    client: Client,
    make_user: MakeUser,
    db: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    susan = await make_user("susan", confirmed=False)
    issued = int(time.time()) - MAX_AGE - 1
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda _self: issued)
        token = await token_for(app, CONFIRM, susan)
    await client.get(f"/auth/confirm/{token}")
    assert not await is_confirmed(db, susan)


async def test_reset_token_does_not_confirm(
    app: Quart, client: Client, make_user: MakeUser, db: AsyncSession
) -> None:
    susan = await make_user("susan", confirmed=False)
    await client.get(f"/auth/confirm/{await token_for(app, RESET_PASSWORD, susan)}")
    assert not await is_confirmed(db, susan)


async def test_confirm_token_dies_when_the_address_changes(
    app: Quart, client: Client, make_user: MakeUser, db: AsyncSession
) -> None:
    susan = await make_user("susan", confirmed=False)
    token = await token_for(app, CONFIRM, susan)
    susan.set_email("someone-else@flasky.dev")
    await db.commit()
    await client.get(f"/auth/confirm/{token}")
    assert not await is_confirmed(db, susan)


async def test_unconfirmed_user_is_sent_to_unconfirmed_page(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    susan = await make_user("susan", confirmed=False)
    async with signed_in(client, susan):
        response = await client.get("/")
        page = await client.get(response.location)
    assert response.status_code == 302
    assert response.location == "/auth/unconfirmed"
    html = await page.get_data(as_text=True)
    assert "You have not confirmed your account yet" in html
    assert 'action="/auth/confirm"' in html


@pytest.mark.parametrize("path", ["/static/flasky.css", "/auth/change-password", "/avatar/1.svg"])
async def test_unconfirmed_user_still_reaches_files_and_account_pages(
    client: Client, make_user: MakeUser, signed_in: SignedIn, path: str
) -> None:
    susan = await make_user("susan", confirmed=False)
    async with signed_in(client, susan):
        response = await client.get(path)
    assert response.status_code == 200


async def test_unconfirmed_page_sends_confirmed_users_home(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        response = await client.get("/auth/unconfirmed")
    assert response.location == "/"


async def test_resend_mails_a_new_link(
    client: Client,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
    mailbox: Mailbox,
) -> None:
    susan = await make_user("susan", confirmed=False)
    async with signed_in(client, susan):
        token = await csrf(client, "/auth/unconfirmed")
        response = await client.post(
            "/auth/confirm", form={"csrf_token": token}, follow_redirects=True
        )
    assert "A new confirmation email has been sent to you by email." in await response.get_data(
        as_text=True
    )
    [message] = mailbox.to("susan@flasky.dev")
    assert mailbox.links(message)[0].startswith("http://localhost/auth/confirm/")


async def test_resend_failure_tells_the_user_to_retry(
    client: Client,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
    reconfigure: Reconfigure,
) -> None:
    susan = await make_user("susan", confirmed=False)
    reconfigure(mail_port=free_port())
    async with signed_in(client, susan):
        token = await csrf(client, "/auth/unconfirmed")
        response = await client.post(
            "/auth/confirm", form={"csrf_token": token}, follow_redirects=True
        )
    assert response.status_code == 200
    assert "Please try again in a few minutes." in await response.get_data(as_text=True)


async def test_resend_needs_a_login(client: Client, csrf: Csrf) -> None:
    response = await client.post("/auth/confirm", form={"csrf_token": await csrf(client)})
    assert response.status_code == 302
    assert response.location.startswith("/auth/login?next=")
