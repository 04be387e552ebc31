"""The app as production runs it: hypercorn with two worker processes, in a subprocess.

Server tests (`@pytest.mark.server`) and browser tests go through this path
rather than Quart's test client, so they also prove what the test client
cannot: the ASGI entry point, the production configuration, worker processes
sharing one database, real sockets and real SMTP.

- `fresh_database(directory)`: a new database migrated with `alembic upgrade
  head` (run as a command, as an operator would; that alone creates the roles): a
  SQLite file, or a new PostgreSQL database next to `TEST_DATABASE_URL`
  (dropped afterwards), so the live server never touches the database of the
  in-process tests.
- `LiveServer`: starts hypercorn on that database, waits for `/healthz`, stops it.
- `Nginx`: Debian's nginx in front of several live servers, with the deployment
  guide's upstream and proxy settings (`docs/nginx-upstream.conf`,
  `docs/nginx-proxy.conf`), on loopback, in a directory of its own.
- `add_user`, `add_post`, `add_comment`: rows written straight into its database.
- `wait_for_mail`: the message the server sent to an address.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from service.config import Config
from service.db import async_url
from service.markdown import render_comment, render_post
from service.models import Base, Comment, Post, Role, User
from service.passwords import hasher_for

from .conftest import Mailbox, free_port

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
# The deployment guide's hypercorn settings: the tests run what operators run.
HYPERCORN_CONFIG = ROOT / "docs" / "hypercorn.toml"
NGINX_UPSTREAM = ROOT / "docs" / "nginx-upstream.conf"
NGINX_PROXY = ROOT / "docs" / "nginx-proxy.conf"
# The addresses nginx-upstream.conf lists, which a test replaces with its servers'.
NGINX_GUIDE_ADDRESSES = ("127.0.0.1:8000", "127.0.0.1:8001")
# Names of the databases the live servers get on a PostgreSQL test server.
POSTGRES_PREFIX = "flasky_proof_"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to completion from synchronous code, even under a running event loop.

    Fixtures and browser tests are synchronous, but Playwright's sync API keeps
    an event loop running in the main thread, where `asyncio.run` is refused.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def engine_for(database_url: str) -> AsyncEngine:
    """An engine on a live server's database, for arranging and checking rows from a test."""
    return create_async_engine(async_url(database_url))


async def _postgres_admin(admin_url: str, statement: str) -> None:
    engine = create_async_engine(async_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await engine.dispose()


def _migrate(database_url: str) -> None:
    """`alembic upgrade head` as an operator runs it (the migrations create the roles)."""
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )


@contextlib.contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """A new, migrated database of its own: PostgreSQL when `TEST_DATABASE_URL` is set."""
    server_url = os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        url = f"sqlite:///{directory / 'live.sqlite'}"
        _migrate(url)
        yield url
        return
    name = f"{POSTGRES_PREFIX}{secrets.token_hex(6)}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    run_sync(_postgres_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        _migrate(url)
        yield url
    finally:
        run_sync(_postgres_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass(frozen=True)
class Account:
    """A user of the live server, with the password to log in with."""

    id: int
    username: str
    email: str
    password: str


async def insert(database_url: str, *rows: Base) -> None:
    """Write rows straight into a live server's database; they have their ids afterwards."""
    engine = engine_for(database_url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            session.add_all(rows)
            await session.commit()
    finally:
        await engine.dispose()


@functools.lru_cache
def production_hash(password: str) -> str:
    """An Argon2id hash with production's cost; computed once per password, it takes ~0.3 s."""
    return hasher_for(Config(name="production", secret_key="-", database_url="")).hash(password)


async def add_user(
    database_url: str, username: str, *, role: str = "User", password: str = "cat-password"
) -> Account:
    """A confirmed user, inserted directly (registration itself is tested elsewhere)."""
    user = User(
        email=f"{username}@flasky.dev",
        username=username,
        password_hash=await asyncio.to_thread(production_hash, password),
        confirmed=True,
        role_id=select(Role.id).where(Role.name == role).scalar_subquery(),
    )
    await insert(database_url, user)
    return Account(user.id, user.username, user.email, password)


async def add_post(database_url: str, author: Account, body: str) -> int:
    post = Post(body=body, body_html=render_post(body), author_id=author.id)
    await insert(database_url, post)
    return post.id


async def add_comment(database_url: str, author: Account, post_id: int, body: str) -> int:
    comment = Comment(
        body=body, body_html=render_comment(body), author_id=author.id, post_id=post_id
    )
    await insert(database_url, comment)
    return comment.id


def wait_for_mail(mailbox: Mailbox, address: str, timeout: float = 10.0) -> EmailMessage:
    """The newest message to `address`, waiting for it: the server may send in the background.

    Synchronous, for the browser tests; the SMTP server receives in its own thread.
    """
    deadline = time.monotonic() + timeout
    while not mailbox.to(address):
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {address} within {timeout} s")
        time.sleep(0.05)
    return mailbox.to(address)[-1]


@dataclass
class LiveServer:
    """`hypercorn service.asgi:app` with the guide's config file, production settings, loopback."""

    database_url: str
    mail_port: int
    log_path: Path
    workers: int = 2
    port: int = field(default_factory=free_port)
    # One key for the server's whole life, so sessions and tokens survive a restart.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    process: subprocess.Popen[bytes] | None = None
    # Seconds each `start()` took until /healthz answered: the first is the cold start.
    start_seconds: list[float] = field(default_factory=list)
    # More environment variables, over the defaults below (FLASKY_TRUSTED_PROXIES, ...).
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """Host and port, as nginx names the server (`$upstream_addr`)."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "FLASKY_CONFIG": "production",
            "SECRET_KEY": self.secret_key,
            "DATABASE_URL": self.database_url,
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(self.mail_port),
            "FLASKY_BASE_URL": self.url,
            # Plain http on loopback: a Secure cookie would never be sent back.
            "FLASKY_COOKIE_SECURE": "false",
            **self.settings,
        }

    def start(self) -> float:
        """Start hypercorn; returns the seconds until `/healthz` answered 200."""
        assert self.process is None, "already running"
        started = time.monotonic()
        command = [
            sys.executable, "-m", "hypercorn", "service.asgi:app",
            "--config", str(HYPERCORN_CONFIG),
            "--workers", str(self.workers),
            "--bind", f"127.0.0.1:{self.port}",
            "--access-logfile", "-", "--error-logfile", "-",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_until_healthy(started)
        self.start_seconds.append(time.monotonic() - started)
        return self.start_seconds[-1]

    def wait_until_healthy(self, since: float) -> None:
        """Poll `/healthz` until it answers 200; fail with the log if the server dies first."""
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() - since < START_TIMEOUT:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"hypercorn exited at start-up:\n{self.log()}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.url}/healthz").status_code == 200:
                        return
                time.sleep(0.02)
        raise RuntimeError(f"hypercorn not healthy after {START_TIMEOUT} s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        """The worker processes: the hypercorn master's children that run the app."""
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        # multiprocessing may add a resource tracker beside the spawned workers.
        return [
            int(child)
            for child in children
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
        ]

    def wait_for_exit(self, timeout: float = STOP_TIMEOUT) -> int:
        """Wait until the master has exited on its own; returns its exit code."""
        assert self.process is not None
        code = self.process.wait(timeout)
        self.process = None
        return code

    def stop(self) -> None:
        """SIGTERM, as a supervisor stops it; SIGKILL the process group if it hangs."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


NGINX_SKELETON = """\
# Written by tests/server.py: the test's own nginx, on loopback, in its own directory.
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log notice;
user {user};

events {{
    worker_connections 1024;
}}

http {{
    log_format upstreams '$request $status upstream=$upstream_addr statuses=$upstream_status';
    access_log {directory}/access.log upstreams;
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;

    include {directory}/upstream.conf;

    server {{
        listen {address};
        location / {{
            include {proxy};
            # Which server answered, for the test only (a retried request names both).
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    """Debian's nginx, if installed (.ci/run installs it); /usr/sbin is not on every PATH."""
    return shutil.which("nginx", path=f"{os.environ.get('PATH', '')}{os.pathsep}/usr/sbin")


@dataclass
class Nginx:
    """nginx as the guide configures it, in front of `servers`, on a loopback port of its own.

    The upstream block is the guide's file with its two addresses replaced by
    the servers'; `drain` and `restore` edit it as an operator would (the
    `down` flag) and reload nginx, whose old worker finishes its requests
    before it exits.
    """

    directory: Path
    servers: list[LiveServer]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def upstream_config(self, down: frozenset[str] = frozenset()) -> str:
        """The guide's upstream block for these servers; those in `down` get the `down` flag."""
        text = NGINX_UPSTREAM.read_text()
        assert len(self.servers) == len(NGINX_GUIDE_ADDRESSES), "the guide lists two servers"
        for guide, server in zip(NGINX_GUIDE_ADDRESSES, self.servers, strict=True):
            assert f"server {guide} " in text, f"{NGINX_UPSTREAM} no longer lists {guide}"
            flag = " down" if server.address in down else ""
            text = text.replace(f"server {guide} ", f"server {server.address}{flag} ")
        return text

    def write_config(self, down: frozenset[str] = frozenset()) -> None:
        self.directory.mkdir(exist_ok=True)
        (self.directory / "upstream.conf").write_text(self.upstream_config(down))
        (self.directory / "nginx.conf").write_text(
            NGINX_SKELETON.format(
                directory=self.directory,
                user=pwd.getpwuid(os.geteuid()).pw_name,
                address=f"127.0.0.1:{self.port}",
                proxy=NGINX_PROXY,
            )
        )

    def command(self, *arguments: str) -> list[str]:
        binary = nginx_binary()
        assert binary is not None, "nginx is not installed"
        prefix = ["-p", str(self.directory), "-c", str(self.directory / "nginx.conf")]
        return [binary, "-e", str(self.directory / "error.log"), *prefix, *arguments]

    def start(self) -> None:
        """Start nginx in the foreground (`daemon off`); returns once it accepts connections."""
        assert self.process is None, "already running"
        self.write_config()
        subprocess.run(self.command("-t", "-q"), check=True, capture_output=True)
        with (self.directory / "nginx.out").open("ab") as log:
            self.process = subprocess.Popen(
                self.command("-g", "daemon off;"),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited at start-up:\n{self.log()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.02)
        raise RuntimeError(f"nginx not listening after {START_TIMEOUT} s:\n{self.log()}")

    def workers(self) -> set[int]:
        assert self.process is not None
        pid = self.process.pid
        return {
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        }

    def reload(self, down: frozenset[str] = frozenset()) -> None:
        """Reload with a new upstream block; returns once every old worker has exited.

        The old worker stops taking connections at once, but finishes the
        requests it holds (and the upstream connections they use) first.
        """
        assert self.process is not None
        self.write_config(down)
        old = self.workers()
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + STOP_TIMEOUT
        while old & self.workers():
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx's old workers still running:\n{self.log()}")
            time.sleep(0.02)

    def drain(self, server: LiveServer) -> None:
        """Take `server` out of the upstream (`down`): nginx sends it nothing more."""
        self.reload(down=frozenset({server.address}))

    def restore(self) -> None:
        """Every server back in the upstream."""
        self.reload()

    def stop(self) -> None:
        """SIGQUIT, nginx's graceful shutdown; SIGKILL if it hangs."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def log(self) -> str:
        """nginx's error log and its own output."""
        paths = (self.directory / "error.log", self.directory / "nginx.out")
        return "".join(path.read_text(errors="replace") for path in paths if path.exists())

    def access_log(self) -> list[str]:
        path = self.directory / "access.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []


@contextlib.contextmanager
def running_server(directory: Path, mail_port: int) -> Iterator[LiveServer]:
    """A live server on a fresh database, stopped (and its database dropped) afterwards."""
    with fresh_database(directory) as database_url:
        server = LiveServer(database_url, mail_port, directory / "hypercorn.log")
        server.start()
        try:
            yield server
        finally:
            server.stop()
