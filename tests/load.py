"""Load for the concurrency, fault and multi-server tests, and the ledger of what was acknowledged.

Every write carries a unique body, so afterwards the database can be compared
with the ledger body by body: an acknowledged write (201 from the API, 302
from a form) must be stored exactly once, and nothing may be stored twice.
`steady_load` keeps clients reading and writing while a test does something
to the servers (kills a worker, restarts them one by one).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func, select

from service.models import Comment, Post, User

from .server import Account, engine_for

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KINDS = ("posts", "comments")
# What the load's requests get when all is well: a page or list, a 201 from the
# API, a form's redirect.
OK = frozenset({200, 201, 302})


@dataclass
class Ledger:
    """What the clients sent, and what the server answered."""

    acknowledged: dict[str, list[str]] = field(default_factory=lambda: {k: [] for k in KINDS})
    statuses: Counter[int] = field(default_factory=Counter)
    # Requests that got no HTTP answer at all (refused or reset connections), by error type.
    unanswered: Counter[str] = field(default_factory=Counter)

    def record(self, kind: str, body: str, response: httpx.Response, acknowledged: int) -> None:
        self.statuses[response.status_code] += 1
        if response.status_code == acknowledged:
            self.acknowledged[kind].append(body)

    def acknowledged_count(self) -> int:
        return sum(len(bodies) for bodies in self.acknowledged.values())

    def request_count(self) -> int:
        """Every request sent, answered or not."""
        return self.statuses.total() + self.unanswered.total()

    def failures(self) -> dict[str, int]:
        """Requests that did not get the answer the load expects (200, 201, 302), or none."""
        failed = {str(status): n for status, n in self.statuses.items() if status not in OK}
        return {**failed, **self.unanswered}

    def server_errors(self) -> dict[int, int]:
        return {status: n for status, n in self.statuses.items() if status >= 500}

    def expected_rows(self) -> dict[str, Counter[str]]:
        return {kind: Counter(bodies) for kind, bodies in self.acknowledged.items()}


async def api_token(client: httpx.AsyncClient, account: Account) -> str:
    response = await client.post("/api/v1/tokens/", auth=(account.email, account.password))
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


async def api_write(
    client: httpx.AsyncClient, token: str, kind: str, post_id: int, body: str, ledger: Ledger
) -> bool:
    """A post or a comment through the REST API, acknowledged by 201; False when unanswered."""
    path = "/api/v1/posts/" if kind == "posts" else f"/api/v1/posts/{post_id}/comments/"
    try:
        response = await client.post(path, json={"body": body}, auth=(token, ""))
    except httpx.TransportError as error:
        ledger.unanswered[type(error).__name__] += 1
        return False
    ledger.record(kind, body, response, 201)
    return True


async def read(
    client: httpx.AsyncClient, path: str, ledger: Ledger, token: str | None = None
) -> bool:
    """A GET, its status counted in the ledger; False when no answer came at all."""
    try:
        response = await client.get(path, auth=(token, "") if token else None)
    except httpx.TransportError as error:
        ledger.unanswered[type(error).__name__] += 1
        return False
    ledger.statuses[response.status_code] += 1
    return True


async def csrf_token(client: httpx.AsyncClient, path: str) -> str:
    match = CSRF_RE.search((await client.get(path)).text)
    assert match is not None, f"no csrf_token on {path}"
    return match.group(1)


async def log_in(client: httpx.AsyncClient, account: Account) -> str:
    """Log `client` in through the login form; returns a CSRF token for its forms."""
    form = {
        "email": account.email,
        "password": account.password,
        "csrf_token": await csrf_token(client, "/auth/login"),
    }
    response = await client.post("/auth/login", data=form)
    assert response.status_code == 302, f"login failed: {response.status_code}"
    return await csrf_token(client, "/")


async def form_write(
    client: httpx.AsyncClient, csrf: str, kind: str, post_id: int, body: str, ledger: Ledger
) -> bool:
    """A post (the index form) or a comment (the post page's form), acknowledged by 302.

    False when no answer came at all.
    """
    path = "/" if kind == "posts" else f"/post/{post_id}"
    try:
        response = await client.post(path, data={"body": body, "csrf_token": csrf})
    except httpx.TransportError as error:
        ledger.unanswered[type(error).__name__] += 1
        return False
    ledger.record(kind, body, response, 302)
    return True


async def until_acknowledged(ledger: Ledger, count: int) -> None:
    """Wait until the load (not a fixed time) has had `count` writes acknowledged in all."""
    async with asyncio.timeout(30):
        while ledger.acknowledged_count() < count:  # noqa: ASYNC110 (a counter the clients bump)
            await asyncio.sleep(0.01)


async def api_step(
    http: httpx.AsyncClient, token: str, step: int, body: str, post_id: int, ledger: Ledger
) -> bool:
    """Step `step` of an API client's round: read `/`, write, read `/api/v1/posts/`, write.

    A write is a post or a comment on `post_id` with `body`. Returns whether
    the server answered at all.
    """
    if step % 4 == 0:
        return await read(http, "/", ledger)
    if step % 4 == 2:
        return await read(http, "/api/v1/posts/", ledger, token)
    return await api_write(http, token, KINDS[step % 4 // 2], post_id, body, ledger)


@contextlib.asynccontextmanager
async def steady_load(
    http: httpx.AsyncClient,
    tokens: Sequence[str],
    post_id: int,
    marker: str,
    clients: int,
    browsers: Sequence[tuple[httpx.AsyncClient, str]] = (),
) -> AsyncIterator[Ledger]:
    """Clients reading and writing until the block ends; yields the ledger they fill.

    Each of `clients` API clients, in turn: reads `/`, writes (a post or a
    comment on `post_id`), reads `/api/v1/posts/`, writes. Each of `browsers`
    (a signed-in client and its CSRF token) posts and comments through the
    forms and reads `/`. Bodies start with `marker`. A request that gets no
    answer at all is followed by a short pause, as a real client backs off.
    """
    ledger, stop = Ledger(), asyncio.Event()

    async def api_client(n: int) -> None:
        token, step = tokens[n % len(tokens)], n
        while not stop.is_set():
            step += 1
            if not await api_step(http, token, step, f"{marker} {n}.{step}", post_id, ledger):
                await asyncio.sleep(0.05)

    async def browser(n: int, client: httpx.AsyncClient, csrf: str) -> None:
        step = 0
        while not stop.is_set():
            step += 1
            if step % 3 == 0:
                answered = await read(client, "/", ledger)
            else:
                kind = KINDS[step % 3 - 1]
                body = f"{marker} browser {n}.{step}"
                answered = await form_write(client, csrf, kind, post_id, body, ledger)
            if not answered:
                await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(api_client(n)) for n in range(clients)]
    tasks += [
        asyncio.create_task(browser(n, client, csrf)) for n, (client, csrf) in enumerate(browsers)
    ]
    try:
        yield ledger
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def stored_rows(database_url: str, marker: str) -> dict[str, Counter[str]]:
    """How many times each body starting with `marker` is stored, per kind."""
    engine = engine_for(database_url)
    try:
        async with engine.connect() as connection:
            rows = {}
            models: tuple[type[Post] | type[Comment], ...] = (Post, Comment)
            for kind, model in zip(KINDS, models, strict=True):
                bodies = await connection.scalars(
                    select(model.body).where(model.body.startswith(marker, autoescape=True))
                )
                rows[kind] = Counter(bodies)
    finally:
        await engine.dispose()
    return rows


async def integrity_problems(database_url: str) -> list[str]:
    """What is wrong with the database file or its references: nothing, after any crash.

    SQLite checks its own file (`PRAGMA integrity_check`) and foreign keys; on
    both databases no comment may point at a missing post or author.
    """
    engine = engine_for(database_url)
    problems: list[str] = []
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                checked = (await connection.exec_driver_sql("PRAGMA integrity_check")).scalars()
                problems += [row for row in checked if row != "ok"]
                broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                problems += [f"foreign key: {tuple(row)}" for row in broken]
            orphans = await connection.scalar(
                select(func.count(Comment.id)).where(
                    ~Comment.post_id.in_(select(Post.id)) | ~Comment.author_id.in_(select(User.id))
                )
            )
            if orphans:
                problems.append(f"{orphans} comments without their post or author")
    finally:
        await engine.dispose()
    return problems


def server_log_problems(log: str) -> list[str]:
    """Lines of the server log that tell of a lost write or a crash in a request."""
    signs = ("database is locked", "Traceback", "Unhandled error")
    lines, problems = log.splitlines(), []
    for at, line in enumerate(lines):
        if not any(sign in line for sign in signs):
            continue
        if "Traceback" in line:
            # The whole traceback, up to and with its exception line, so that
            # a failure says what went wrong and where.
            end = next(
                (n for n in range(at + 1, len(lines)) if not lines[n].startswith(" ")),
                len(lines) - 1,
            )
            line = "\n".join(lines[at : end + 1])
        problems.append(line)
    return problems
