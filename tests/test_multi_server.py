"""Two app servers behind nginx on one database behave as one site.

The deployment guide's "Several servers" layout, run for real: two hypercorn
instances on different loopback ports, one worker each, on the same database
(PostgreSQL when `TEST_DATABASE_URL` is set; otherwise one SQLite file, which
two processes on one machine share just as safely), behind Debian's nginx
with the guide's `docs/nginx-upstream.conf` and `docs/nginx-proxy.conf`, and
`FLASKY_TRUSTED_PROXIES=1`. Every request goes through nginx; the test's own
nginx config adds an `X-Upstream` header naming the server that answered, so
each check knows which instance it met.

Why one worker per instance: hypercorn's master, on SIGTERM, waits for the
first worker to exit and then terminates the others, whose requests in
flight are cut off (docs/deployment.md). With one worker the master waits for
it, so hypercorn's graceful shutdown really finishes every request.

nginx's round robin alternates strictly between two equal servers (one nginx
worker, no other traffic), so a request that follows one answered by A goes
to B: the helpers rely on that and check it on every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pyotp
import pytest

from .conftest import Mailbox, free_port
from .load import (
    KINDS,
    Ledger,
    api_token,
    csrf_token,
    log_in,
    server_log_problems,
    steady_load,
    stored_rows,
    until_acknowledged,
)
from .server import (
    Account,
    LiveServer,
    Nginx,
    add_post,
    add_user,
    fresh_database,
    nginx_binary,
    run_sync,
)
from .two_factor import SECRET_RE

pytestmark = pytest.mark.server

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# The app's default FLASKY_LOGIN_MAX_FAILURES.
MAX_FAILURES = 5
API_CLIENTS = 16
BROWSERS = 2
# The load runs until this many writes are acknowledged before the restart,
# and again as many after it: it measures the service, not a fixed time.
ACKNOWLEDGED_BEFORE = 100
ACKNOWLEDGED_AFTER = 100
# A reload of nginx (the restart drains a server with one) closes the idle
# keep-alive connections of its clients, and a request sent on one at that
# moment gets no answer. Browsers send such a request again on a new
# connection; httpx does not. So the restart's load connects anew for every
# request, and what it counts are failures of the servers and of nginx, not of
# the client library's connection reuse.
NEW_CONNECTION_EACH_TIME = httpx.Limits(max_connections=API_CLIENTS, max_keepalive_connections=0)


@dataclass(frozen=True)
class Cluster:
    """Two live servers on one database, and nginx in front of them."""

    servers: tuple[LiveServer, LiveServer]
    nginx: Nginx
    database_url: str

    def other(self, server: LiveServer) -> LiveServer:
        return self.servers[1] if server is self.servers[0] else self.servers[0]

    def client(self, limits: httpx.Limits | None = None) -> httpx.AsyncClient:
        """A browser-like client (it keeps cookies) that talks to nginx only."""
        return httpx.AsyncClient(
            base_url=self.nginx.url, limits=limits or httpx.Limits(), timeout=30
        )


@pytest.fixture(scope="module")
def cluster(
    smtp_server: tuple[Mailbox, int], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    if nginx_binary() is None:
        pytest.skip("the multi-server tests need Debian's nginx (apt-get install nginx)")
    directory = tmp_path_factory.mktemp("cluster")
    with fresh_database(directory) as database_url:
        nginx_port = free_port()
        # What every server of one site shares: the key, and the public address.
        secret_key = secrets.token_urlsafe(48)
        settings = {
            "FLASKY_TRUSTED_PROXIES": "1",
            "FLASKY_BASE_URL": f"http://127.0.0.1:{nginx_port}",
        }
        a, b = (
            LiveServer(
                database_url,
                smtp_server[1],
                directory / f"hypercorn-{name}.log",
                workers=1,
                secret_key=secret_key,
                settings=settings,
            )
            for name in "ab"
        )
        nginx = Nginx(directory / "nginx", [a, b], port=nginx_port)
        try:
            a.start()
            b.start()
            nginx.start()
            yield Cluster((a, b), nginx, database_url)
        finally:
            nginx.stop()
            a.stop()
            b.stop()


def served_by(response: httpx.Response) -> str:
    """The server nginx passed the request to (the test config's `X-Upstream`)."""
    return response.headers["X-Upstream"]


async def get_from(client: httpx.AsyncClient, path: str, server: LiveServer) -> httpx.Response:
    """GET `path` through nginx until `server` answers it (round robin: at most twice)."""
    for _ in range(2):
        response = await client.get(path)
        if served_by(response) == server.address:
            return response
    raise AssertionError(f"nginx did not pass GET {path} to {server.address}")


async def form_to(
    cluster: Cluster, client: httpx.AsyncClient, path: str, data: dict[str, str], server: LiveServer
) -> httpx.Response:
    """POST a form through nginx to `server`, with a CSRF token the *other* server issued."""
    page = await get_from(client, path, cluster.other(server))
    match = CSRF_RE.search(page.text)
    assert match is not None, f"no csrf_token on {path}"
    response = await client.post(path, data={**data, "csrf_token": match.group(1)})
    assert served_by(response) == server.address, "nginx's round robin did not alternate"
    return response


async def new_account(cluster: Cluster) -> Account:
    return await add_user(cluster.database_url, f"u{secrets.token_hex(4)}")


async def test_signed_in_browser_stays_signed_in_whichever_server_answers(
    cluster: Cluster,
) -> None:
    account = await new_account(cluster)
    async with cluster.client() as browser:
        await log_in(browser, account)
        pages = [await browser.get("/") for _ in range(6)]

    assert {served_by(page) for page in pages} == {s.address for s in cluster.servers}
    assert all(f"Hello, {account.username}!" in page.text for page in pages)


async def test_csrf_token_from_one_server_is_accepted_by_the_other(cluster: Cluster) -> None:
    account = await new_account(cluster)
    marker = f"crossed-{secrets.token_hex(4)}"
    async with cluster.client() as browser:
        await log_in(browser, account)
        for server in cluster.servers:
            body = f"{marker} accepted by {server.address}"
            response = await form_to(cluster, browser, "/", {"body": body}, server)
            assert response.status_code == 302, response.text

    stored = await stored_rows(cluster.database_url, marker)
    assert sorted(stored["posts"]) == sorted(
        f"{marker} accepted by {server.address}" for server in cluster.servers
    )


async def fail_logins(
    cluster: Cluster, client: httpx.AsyncClient, account: Account
) -> Counter[str]:
    """`MAX_FAILURES` wrong passwords, sent to the two servers in turn; who answered each."""
    answered: Counter[str] = Counter()
    wrong = {"email": account.email, "password": "not-the-password"}
    for n in range(MAX_FAILURES):
        server = cluster.servers[n % 2]
        response = await form_to(cluster, client, "/auth/login", wrong, server)
        assert response.status_code == 200, response.status_code
        assert "Invalid email or password." in response.text
        answered[served_by(response)] += 1
    return answered


async def test_failed_logins_through_both_servers_add_up_to_one_throttle(
    cluster: Cluster,
) -> None:
    account = await new_account(cluster)
    right = {"email": account.email, "password": account.password}
    async with cluster.client() as browser:
        failures = await fail_logins(cluster, browser, account)
        # The limit is reached only by counting both servers' failures together;
        # then each server refuses even the right password.
        refusals = [
            await form_to(cluster, browser, "/auth/login", right, s) for s in cluster.servers
        ]

    assert set(failures) == {s.address for s in cluster.servers}
    assert max(failures.values()) < MAX_FAILURES
    assert [r.status_code for r in refusals] == [429, 429]
    assert all("Too many failed login attempts" in r.text for r in refusals)


async def test_forged_forwarded_for_does_not_escape_the_throttle(cluster: Cluster) -> None:
    account = await new_account(cluster)
    right = {"email": account.email, "password": account.password}
    async with cluster.client() as browser:
        await fail_logins(cluster, browser, account)
        token = await csrf_token(browser, "/auth/login")
        # nginx appends the real address; FLASKY_TRUSTED_PROXIES=1 takes that one.
        forged = await browser.post(
            "/auth/login",
            data={**right, "csrf_token": token},
            headers={"X-Forwarded-For": "203.0.113.7"},
        )

    assert forged.status_code == 429


async def test_two_factor_verification_started_on_one_instance_completes_on_the_other(
    cluster: Cluster,
) -> None:
    account = await new_account(cluster)
    async with cluster.client() as browser:
        token = await log_in(browser, account)
        setup = await browser.get("/auth/two-factor")
        match = SECRET_RE.search(setup.text)
        assert match is not None, "no secret on the setup page"
        totp = pyotp.TOTP(match.group(1))
        enabled = await browser.post(
            "/auth/two-factor", data={"code": totp.now(), "csrf_token": token}
        )
        assert enabled.status_code == 200 and "recovery codes" in enabled.text
    first, second = cluster.servers
    credentials = {"email": account.email, "password": account.password}
    async with cluster.client() as browser:
        password = await form_to(cluster, browser, "/auth/login", credentials, first)
        assert password.status_code == 302
        assert password.headers["Location"] == "/auth/two-factor/verify"
        # The next step's code: the one used to turn two-factor on is spent.
        code = {"code": totp.at(time.time() + 30)}
        verified = await form_to(cluster, browser, "/auth/two-factor/verify", code, second)
        assert verified.status_code == 302, verified.text
        home = await get_from(browser, "/", first)

    assert f"Hello, {account.username}!" in home.text


@dataclass(frozen=True)
class RestartRun:
    """What a rolling restart under load left behind."""

    ledger: Ledger
    stored: dict[str, Counter[str]]
    restarts: list[int]
    answered_after: set[str]
    log_problems: list[str]


def restart_one_by_one(cluster: Cluster) -> None:
    """The guide's rolling restart: for each server, drain it, restart it, wait, put it back."""
    for server in cluster.servers:
        cluster.nginx.drain(server)
        server.stop()
        server.start()
        cluster.nginx.restore()


async def run_rolling_restart(cluster: Cluster) -> RestartRun:
    database_url = cluster.database_url
    accounts = [await add_user(database_url, f"roller{n}") for n in range(4)]
    post_id = await add_post(database_url, accounts[0], "Comments while restarting")
    marker = f"rolling-{secrets.token_hex(4)}"
    limits = NEW_CONNECTION_EACH_TIME
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(cluster.client(limits))
        tokens = [await api_token(http, account) for account in accounts]
        browsers = []
        for account in accounts[:BROWSERS]:
            browser = await stack.enter_async_context(cluster.client(limits))
            browsers.append((browser, await log_in(browser, account)))
        async with steady_load(http, tokens, post_id, marker, API_CLIENTS, browsers) as ledger:
            await until_acknowledged(ledger, ACKNOWLEDGED_BEFORE)
            await asyncio.to_thread(restart_one_by_one, cluster)
            await until_acknowledged(ledger, ledger.acknowledged_count() + ACKNOWLEDGED_AFTER)
        answered_after = {served_by(await http.get("/healthz")) for _ in range(2)}

    return RestartRun(
        ledger=ledger,
        stored=await stored_rows(database_url, marker),
        restarts=[len(server.start_seconds) - 1 for server in cluster.servers],
        answered_after=answered_after,
        log_problems=[p for s in cluster.servers for p in server_log_problems(s.log())],
    )


@pytest.fixture(scope="module")
def rolling(cluster: Cluster) -> RestartRun:
    return run_sync(run_rolling_restart(cluster))


def test_rolling_restart_fails_no_request(
    rolling: RestartRun, record_property: Callable[[str, object], None]
) -> None:
    ledger = rolling.ledger
    record_property("requests", ledger.request_count())
    record_property("acknowledged_writes", ledger.acknowledged_count())
    record_property("failed", sum(ledger.failures().values()))
    print(
        f"rolling restart: {ledger.request_count()} requests, "
        f"{ledger.acknowledged_count()} acknowledged writes, failed: {ledger.failures() or 0}"
    )
    assert ledger.failures() == {}
    assert rolling.log_problems == []


def test_rolling_restart_restarts_each_server_and_both_serve_after(rolling: RestartRun) -> None:
    assert rolling.restarts == [1, 1]
    assert len(rolling.answered_after) == 2


def test_rolling_restart_loses_no_acknowledged_write(rolling: RestartRun) -> None:
    for kind in KINDS:
        assert set(rolling.ledger.acknowledged[kind]) <= set(rolling.stored[kind])


def test_rolling_restart_stores_no_write_twice(rolling: RestartRun) -> None:
    for kind in KINDS:
        assert [body for body, n in rolling.stored[kind].items() if n > 1] == []
