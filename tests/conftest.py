"""Shared fixtures.

- `database_url`: a fresh database for the whole run, migrated with Alembic:
  a temporary SQLite file, or `TEST_DATABASE_URL` (PostgreSQL) when set.
- `app`: the app in the testing configuration; every table is emptied and the
  roles inserted before each test, so tests never depend on each other.
- `client`: Quart's test client for `app`.
- `db`: an AsyncSession on the test database, to arrange and check rows.
- `mailbox`: a real SMTP server (aiosmtpd) on loopback that the app sends to.
- `make_user`, `login`, `csrf_token`, `submit`, `reconfigure`, `count_statements`: small helpers.

Their types, for annotating a test's parameters, are in fixtures.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import email
import email.policy
import os
import re
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession
from quart import Quart, Response
from quart_auth import authenticated_client
from sqlalchemy import Connection, event, select
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from service import create_app
from service.config import load_config
from service.db import async_url
from service.models import Base, Role, User
from service.passwords import hash_password

from .fixtures import (
    ApiAuth,
    Client,
    CountStatements,
    Csrf,
    Login,
    MakeUser,
    Reconfigure,
    SignedIn,
    Submit,
)

if TYPE_CHECKING:
    from .server import LiveServer

ROOT = Path(__file__).resolve().parent.parent
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    """Run Alembic against `url` (in-process, as `alembic upgrade/downgrade` would)."""
    from alembic.config import Config

    from alembic import command

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    (command.downgrade if down else command.upgrade)(config, revision)


async def _reset_postgres(url: str) -> None:
    engine = create_async_engine(async_url(url))
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    await engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        asyncio.run(_reset_postgres(url))
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'flasky-test.sqlite'}"
    migrate(url)
    return url


class Mailbox:
    """What a real SMTP server on loopback received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, _server: SMTP, _session: SMTPSession, envelope: Envelope) -> str:
        # The controller leaves `decode_data` off, so the content is the raw bytes.
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    @staticmethod
    def body(message: EmailMessage, subtype: str = "plain") -> str:
        part = message.get_body(preferencelist=(subtype,))
        assert part is not None, f"no text/{subtype} part"
        return str(part.get_content())

    def links(self, message: EmailMessage) -> list[str]:
        return re.findall(r"https?://[^\s\"'<>]+", self.body(message))


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Mailbox, int]) -> Mailbox:
    return smtp_server[0]


@pytest.fixture(scope="module")
def live_server(
    smtp_server: tuple[Mailbox, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """The app under hypercorn (2 workers, production config) on a fresh database of its own.

    One per test module; see tests/server.py. Its mail goes to `mailbox`.
    """
    from .server import running_server

    with running_server(tmp_path_factory.mktemp("live"), smtp_server[1]) as server:
        yield server


async def _empty_tables(app: Quart) -> None:
    engine = app.extensions["db_engine"]
    async with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())


@pytest.fixture
async def app(database_url: str, smtp_server: tuple[Mailbox, int]) -> AsyncIterator[Quart]:
    mailbox, port = smtp_server
    mailbox.clear()
    config = load_config(
        "testing",
        database_url=database_url,
        mail_server="127.0.0.1",
        mail_port=port,
        admin_email="admin@flasky.dev",
    )
    app = create_app(config)
    await _empty_tables(app)
    async with app.extensions["db_sessionmaker"]() as session:
        await Role.insert_roles(session)
        await session.commit()
    async with app.test_app():
        yield app


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()


@pytest.fixture
async def db(app: Quart) -> AsyncIterator[AsyncSession]:
    async with app.extensions["db_sessionmaker"]() as session:
        yield session


@pytest.fixture
def make_user(app: Quart, db: AsyncSession) -> MakeUser:
    """Create a user: `await make_user("john", role="Moderator", confirmed=False)`.

    E-mail defaults to `<username>@flasky.dev`, password to `cat-password`.
    """

    async def make(
        username: str = "john",
        *,
        email: str | None = None,
        password: str = "cat-password",
        confirmed: bool = True,
        role: str = "User",
        **fields: Any,
    ) -> User:
        role_row = await db.scalar(select(Role).where(Role.name == role))
        async with app.app_context():
            password_hash = await hash_password(password)
        user = User(
            email=email or f"{username}@flasky.dev",
            username=username,
            password_hash=password_hash,
            confirmed=confirmed,
            role=role_row,
            **fields,
        )
        db.add(user)
        await db.commit()
        return user

    return make


async def csrf_token(client: Client, path: str = "/auth/login") -> str:
    """A CSRF token for this client's browser session, read from a page's form."""
    response = await client.get(path)
    match = CSRF_RE.search(await response.get_data(as_text=True))
    if match is None and path != "/":
        response = await client.get("/")
        match = CSRF_RE.search(await response.get_data(as_text=True))
    assert match is not None, f"no csrf_token on {path} or /"
    return match.group(1)


@pytest.fixture
def csrf() -> Csrf:
    return csrf_token


async def login_as(
    client: Client, email: str, password: str = "cat-password", remember: bool = False
) -> Response:
    token = await csrf_token(client, "/auth/login")
    data = {"email": email, "password": password, "csrf_token": token}
    if remember:
        data["remember_me"] = "y"
    return await client.post("/auth/login", form=data)


@pytest.fixture
def login() -> Login:
    """`await login(client, "john@flasky.dev")` logs the client in through the login form."""
    return login_as


async def submit_form(client: Client, path: str, data: dict[str, str], **kwargs: Any) -> Response:
    """Post `data` to `path` with this browser's CSRF token (read from the login page)."""
    token = await csrf_token(client, "/auth/login")
    return await client.post(path, form={**data, "csrf_token": token}, **kwargs)


@pytest.fixture
def submit() -> Submit:
    """`await submit(client, "/auth/register", {...})` fills in and posts a form."""
    return submit_form


@pytest.fixture
def reconfigure(app: Quart) -> Reconfigure:
    """`reconfigure(base_url="https://flasky.example")`: change settings for this test's app."""

    def change(**changes: Any) -> None:
        app.extensions["flasky_config"] = dataclasses.replace(
            app.extensions["flasky_config"], **changes
        )

    return change


@pytest.fixture
def signed_in() -> SignedIn:
    """`async with signed_in(client, user):` gives the client that user's login cookie.

    For tests of pages behind a login; the login form itself is tested in test_auth_login.py.
    """

    def sign_in(client: Client, user: User) -> contextlib.AbstractAsyncContextManager[None]:
        return authenticated_client(client, user.session_id)

    return sign_in


def basic_auth(username: str, password: str = "") -> dict[str, str]:
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


@pytest.fixture
def api_auth() -> ApiAuth:
    """`api_auth("john@flasky.dev", "cat-password")` or `api_auth(token)`: API request headers."""
    return basic_auth


@pytest.fixture
def count_statements(app: Quart) -> CountStatements:
    """`with count_statements() as statements:` collects the SQL the app runs inside it."""

    @contextlib.contextmanager
    def counter() -> Iterator[list[str]]:
        statements: list[str] = []
        engine = app.extensions["db_engine"].sync_engine

        def record(_conn: Connection, _cursor: DBAPICursor, statement: str, *_args: object) -> None:
            # Transaction control is not seen here: SQLite's dialect sends its
            # BEGIN below these events (service/sqlite_driver.py), and
            # PostgreSQL's driver its own.
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counter


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # CI installs everything the suite needs (PostgreSQL, Chromium): there, a
    # skipped test means a missing install step, not an optional extra.
    if os.environ.get("FLASKY_REQUIRE_ALL_TESTS") and _skipped:
        print(f"\nFLASKY_REQUIRE_ALL_TESTS is set but {len(_skipped)} test(s) skipped:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
