"""Mail: what `send_email` sends, where its links point, and how it fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from quart import Quart

from service import create_app, email
from service.config import load_config
from service.email import absolute_url, send_email
from service.models import User
from tests.conftest import Mailbox, free_port

from .fixtures import Reconfigure

USER = User(email="john@flasky.dev", username="john")


@pytest.fixture
async def request_context(app: Quart) -> AsyncIterator[None]:
    async with app.test_request_context("/auth/register", headers={"Host": "flasky.test:5000"}):
        yield


async def test_mail_has_text_and_html_parts(request_context: None, mailbox: Mailbox) -> None:
    assert await send_email(
        "john@flasky.dev", "Confirm Your Account", "confirm", user=USER, url="u"
    )
    [message] = mailbox.messages
    assert message["From"] == "Flasky Admin <flasky@example.com>"
    assert message["To"] == "john@flasky.dev"
    assert message["Subject"] == "[Flasky] Confirm Your Account"
    assert "Dear john," in Mailbox.body(message, "plain")
    assert "<p>Dear john,</p>" in Mailbox.body(message, "html")


async def test_html_part_escapes_its_values(request_context: None, mailbox: Mailbox) -> None:
    user = User(email="x@flasky.dev", username="<b>x</b>")
    await send_email("x@flasky.dev", "Confirm Your Account", "confirm", user=user, url="u")
    assert "&lt;b&gt;x&lt;/b&gt;" in Mailbox.body(mailbox.messages[0], "html")


async def test_without_mail_server_the_mail_is_logged(
    request_context: None,
    reconfigure: Reconfigure,
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reconfigure(mail_server=None)
    url = "http://flasky.test:5000/auth/confirm/abc"
    with caplog.at_level(logging.INFO, logger="flasky.email"):
        assert await send_email("john@flasky.dev", "Confirm", "confirm", user=USER, url=url)
    assert url in caplog.text
    assert mailbox.messages == []


async def test_production_never_logs_a_mail_body(
    request_context: None, reconfigure: Reconfigure, caplog: pytest.LogCaptureFixture
) -> None:
    reconfigure(mail_server=None, name="production")
    url = "https://flasky.example.com/auth/reset/secret-token"
    with caplog.at_level(logging.INFO, logger="flasky.email"):
        sent = await send_email("john@flasky.dev", "Reset", "reset_password", user=USER, url=url)
    assert not sent
    assert "MAIL_SERVER is not set" in caplog.text
    assert "secret-token" not in caplog.text


async def test_unreachable_server_is_reported_not_raised(
    request_context: None, reconfigure: Reconfigure, caplog: pytest.LogCaptureFixture
) -> None:
    reconfigure(mail_port=free_port())
    assert not await send_email("john@flasky.dev", "Confirm", "confirm", user=USER, url="u")
    assert "Could not send 'Confirm' to john@flasky.dev" in caplog.text


async def test_silent_server_times_out(
    request_context: None, reconfigure: Reconfigure, monkeypatch: pytest.MonkeyPatch
) -> None:
    connections: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(
        _reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connections.append(writer)

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    reconfigure(mail_port=server.sockets[0].getsockname()[1])
    monkeypatch.setattr(email, "SEND_TIMEOUT", 0.2)
    try:
        assert not await send_email("john@flasky.dev", "Confirm", "confirm", user=USER, url="u")
    finally:
        for writer in connections:
            writer.close()
            await writer.wait_closed()
        server.close()
        await server.wait_closed()


async def test_link_uses_the_request_host_without_base_url(request_context: None) -> None:
    assert absolute_url("auth.confirm", token="abc") == "http://flasky.test:5000/auth/confirm/abc"


async def test_link_uses_base_url_whatever_the_host_header(
    request_context: None, reconfigure: Reconfigure
) -> None:
    reconfigure(base_url="https://flasky.example.com")
    assert (
        absolute_url("auth.confirm", token="abc") == "https://flasky.example.com/auth/confirm/abc"
    )


def test_production_without_base_url_warns_at_start(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    create_app(load_config("production", database_url=database_url))
    assert "FLASKY_BASE_URL is not set" in caplog.text


def test_production_with_base_url_does_not_warn(
    database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    create_app(
        load_config("production", database_url=database_url, base_url="https://flasky.example")
    )
    assert "FLASKY_BASE_URL" not in caplog.text
