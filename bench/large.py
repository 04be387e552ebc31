"""The large-database benchmark: latency at c=1 of the pages SPEC 8.6 names, at a million posts.

    python -m bench.large --database-url postgresql://postgres@127.0.0.1:5432/<database>
    python -m bench.large --database-url sqlite:////var/tmp/flasky-large.sqlite --only index

Steps:
1. `flasky deploy` (the migrations), then, unless the database already holds
   posts, `flasky fake --users 100000 --posts 1000000 --comments 2000000 --seed 1`
   (follows: the default, 10 per user on average, so 1,000,000), timed; on
   PostgreSQL then `VACUUM ANALYZE`, as autovacuum would soon after a load.
2. Find the rows the URLs need: the user with the most posts, the post with
   the most comments, the user with the most followers, a user who follows
   500 people (the fewest at or above 500), a user who follows nobody.
3. Serve it as bench/run.py does (`hypercorn --config docs/hypercorn.toml`,
   2 workers, production settings); sign the two followers in through the
   login form, with the Followed tab on, and get an API token.
4. Per URL: 3 warm-up requests, then requests one after another (c=1) for
   `--duration` seconds (at least 10): p50, p95 and the slowest, in ms.
   Every answer must be a 200. One client in a loop times each request
   exactly, which wrk's percentiles (50, 75, 90, 99) do not give for p95.
5. Per URL, in process (Quart's test client on the same database): every
   SQL statement the page runs, re-run with `EXPLAIN (ANALYZE, BUFFERS)` on
   PostgreSQL (`EXPLAIN QUERY PLAN` plus a timed run on SQLite); the plans
   of statements slower than `--plan-ms` are written out.

Prints a Markdown table; raw numbers and plans go to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from quart_auth import authenticated_client
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.run import (
    BIN,
    FAKE_PASSWORD,
    RESULTS,
    ROOT,
    SEARCHES,
    _post_count,
    _settle,
    api_token,
    basic_auth,
    flasky_environment,
    hypercorn,
)
from service import create_app
from service.config import load_config
from service.db import make_engine
from service.models import Comment, Follow, Post, User
from tests.load import log_in
from tests.server import Account

SIZE = {"users": 100_000, "posts": 1_000_000, "comments": 2_000_000}
DEEP_PAGE = 1000
PROFILE_PAGE = 50
FOLLOWING = 500


@dataclass(frozen=True)
class Sample:
    """The rows the measured URLs are about."""

    prolific: tuple[int, str, int]  # user id, username, posts
    commented: tuple[int, int]  # post id, comments
    followed: tuple[str, int]  # username, followers
    follower: tuple[int, str, int]  # user id, e-mail, follows
    loner: tuple[int, str]  # user id, e-mail: follows nobody


@dataclass(frozen=True)
class Target:
    """A URL, and who asks for it: nobody, `follower`, `loner` (signed in) or `api` (token)."""

    label: str
    path: str
    who: str | None = None


@dataclass
class Statement:
    sql: str
    ms: float
    plan: str


@dataclass
class Result:
    label: str
    path: str
    requests: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    statements: list[Statement] = field(default_factory=list)


def fill(database_url: str) -> float | None:
    """Deploy (migrate), then fill `database_url` unless it holds posts; the seconds that took."""
    environment = {**os.environ, **flasky_environment(database_url)}

    def flasky(*arguments: str) -> None:
        subprocess.run([str(BIN / "flasky"), *arguments], cwd=ROOT, env=environment, check=True)

    flasky("deploy")
    if asyncio.run(_post_count(database_url)):
        return None
    started = time.monotonic()
    flasky(
        "fake", "--users", str(SIZE["users"]), "--posts", str(SIZE["posts"]),
        "--comments", str(SIZE["comments"]), "--seed", "1",
    )  # fmt: skip
    return time.monotonic() - started


async def _top(connection: AsyncConnection, statement: Any) -> Any:
    row = (await connection.execute(statement.limit(1))).first()
    assert row is not None, "the database is not filled"
    return tuple(row)


async def find_sample(database_url: str) -> Sample:
    engine = make_engine(database_url)

    posts, comments = func.count(Post.id), func.count(Comment.id)
    followers, follows = func.count(Follow.follower_id), func.count(Follow.followed_id)
    try:
        async with engine.connect() as connection:
            prolific = await _top(
                connection,
                select(User.id, User.username, posts)
                .join(Post, Post.author_id == User.id)
                .group_by(User.id)
                .order_by(posts.desc()),
            )
            commented = await _top(
                connection,
                select(Comment.post_id, comments)
                .group_by(Comment.post_id)
                .order_by(comments.desc()),
            )
            followed = await _top(
                connection,
                select(User.username, followers)
                .join(Follow, Follow.followed_id == User.id)
                .group_by(User.id)
                .order_by(followers.desc()),
            )
            follower = await _top(
                connection,
                select(User.id, User.email, follows)
                .join(Follow, Follow.follower_id == User.id)
                .group_by(User.id)
                .having(follows >= FOLLOWING)
                .order_by(follows, User.id),
            )
            loner = await _top(
                connection,
                select(User.id, User.email)
                .where(~select(Follow).where(Follow.follower_id == User.id).exists())
                .order_by(User.id),
            )
    finally:
        await engine.dispose()
    return Sample(prolific, commented, followed, follower, loner)


def targets(sample: Sample, only: str, skip: str = "") -> list[Target]:
    prolific_id, prolific, _ = sample.prolific
    post_id = sample.commented[0]
    follower_id = sample.follower[0]
    every = [
        Target("index `/`", "/"),
        Target(f"index `/?page={DEEP_PAGE}`", f"/?page={DEEP_PAGE}"),
        Target(f"Followed tab `/`, follows {sample.follower[2]}", "/", "follower"),
        Target("Followed tab `/`, follows nobody", "/", "loner"),
        Target(
            f"`/user/<name>?page={PROFILE_PAGE}`, {sample.prolific[2]:,} posts",
            f"/user/{prolific}?page={PROFILE_PAGE}",
        ),
        Target(f"`/post/<id>`, {sample.commented[1]:,} comments", f"/post/{post_id}"),
        Target(
            f"`/followers/<name>`, {sample.followed[1]:,} followers",
            f"/followers/{sample.followed[0]}",
        ),
        *(
            Target(f"`/search?q={query}` ({kind})", "/search?" + urlencode({"q": query}))
            for kind, query in SEARCHES.items()
        ),
        Target("API `/api/v1/posts/`", "/api/v1/posts/", "api"),
        Target(f"API `/api/v1/posts/?page={DEEP_PAGE}`", f"/api/v1/posts/?page={DEEP_PAGE}", "api"),
        Target(
            f"API `/api/v1/users/<id>/posts/?page={PROFILE_PAGE}`",
            f"/api/v1/users/{prolific_id}/posts/?page={PROFILE_PAGE}",
            "api",
        ),
        Target(
            f"API `/api/v1/users/<id>/timeline/`, follows {sample.follower[2]}",
            f"/api/v1/users/{follower_id}/timeline/",
            "api",
        ),
        Target("API `/api/v1/posts/<id>/comments/`", f"/api/v1/posts/{post_id}/comments/", "api"),
        Target("API `/api/v1/comments/`", "/api/v1/comments/", "api"),
    ]

    def named(target: Target) -> str:
        return target.label.lower() + " " + target.path

    return [
        t for t in every if only.lower() in named(t) and not (skip and skip.lower() in named(t))
    ]


async def timed(client: httpx.AsyncClient, path: str, duration: float) -> list[float]:
    """Milliseconds of each request to `path`, one at a time, for `duration` seconds."""
    for _ in range(3):
        (await client.get(path)).raise_for_status()
    times: list[float] = []
    ends = time.monotonic() + duration
    while time.monotonic() < ends or len(times) < 10:
        started = time.perf_counter()
        response = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}\n{response.text[:500]}")
    return times


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


@contextlib.asynccontextmanager
async def clients(
    base_url: str, sample: Sample, token: str
) -> AsyncIterator[dict[str | None, httpx.AsyncClient]]:
    """An HTTP client for each kind of asker: anonymous, the two followers, the API's."""
    async with contextlib.AsyncExitStack() as stack:

        async def client(**options: Any) -> httpx.AsyncClient:
            return await stack.enter_async_context(
                httpx.AsyncClient(base_url=base_url, timeout=60, **options)
            )

        made = {None: await client(), "api": await client(headers=api_headers(token))}
        for who, (user_id, email, *_) in (("follower", sample.follower), ("loner", sample.loner)):
            made[who] = await client()
            await log_in(made[who], Account(user_id, "", email, FAKE_PASSWORD))
            await made[who].get("/followed")  # the Followed tab, as its link turns it on
        yield made


def api_headers(token: str) -> dict[str, str]:
    return {"Authorization": basic_auth(token, "")}


async def measure(
    base_url: str, sample: Sample, wanted: list[Target], duration: float, token: str
) -> list[Result]:
    results = []
    async with clients(base_url, sample, token) as made:
        for target in wanted:
            times = await timed(made[target.who], target.path, duration)
            result = Result(
                target.label,
                target.path,
                len(times),
                statistics.median(times),
                percentile(times, 0.95),
                max(times),
            )
            print(
                f"{result.label:<58} p50 {result.p50_ms:8.1f} ms  p95 {result.p95_ms:8.1f} ms"
                f"  max {result.max_ms:8.1f} ms  ({result.requests} requests)",
                flush=True,
            )
            results.append(result)
    return results


@contextlib.contextmanager
def captured(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (with their parameters) `engine` runs inside the block."""
    statements: list[tuple[str, Any]] = []

    def record(_conn: Connection, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def explain(
    database_url: str, sample: Sample, wanted: list[Target], token: str
) -> dict[str, list[Statement]]:
    """Every statement of each page, re-run under EXPLAIN, by page label.

    The pages are asked for in process, through Quart's test client, on the
    same database and with the same askers; each is asked for twice and the
    second request's statements are explained (the first warms up caches).
    """
    config = load_config(
        "production",
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        slow_db_query_time=3600,
        cookie_secure=False,
    )
    app = create_app(config)
    engine: AsyncEngine = app.extensions["db_engine"]
    # Fake users never changed their password: session generation 0.
    session_ids = {"follower": f"{sample.follower[0]}:0", "loner": f"{sample.loner[0]}:0"}
    plans: dict[str, list[Statement]] = {}
    async with app.test_app():
        for target in wanted:
            client = app.test_client()
            headers = api_headers(token) if target.who == "api" else {}
            async with contextlib.AsyncExitStack() as stack:
                if target.who in session_ids:
                    await stack.enter_async_context(
                        authenticated_client(client, session_ids[target.who])
                    )
                    await client.get("/followed")
                await client.get(target.path, headers=headers)
                with captured(engine) as statements:
                    response = await client.get(target.path, headers=headers)
                assert response.status_code == 200, (target.path, response.status_code)
            # SQLite's engine emits its own BEGIN (service/db.py): not a query to explain.
            queries = [(sql, p) for sql, p in statements if not sql.startswith("BEGIN")]
            plans[target.label] = [await _explained(engine, sql, p) for sql, p in queries]
    await engine.dispose()
    return plans


async def _explained(engine: AsyncEngine, sql: str, parameters: Any) -> Statement:
    """`sql` with its plan: EXPLAIN ANALYZE on PostgreSQL; on SQLite the plan and a timed run."""
    parameters = tuple(parameters)
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            rows = await connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, parameters)
            plan = "\n".join(row[0] for row in rows)
            ms = float(plan.rsplit("Execution Time: ", 1)[1].split()[0])
        else:
            rows = await connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)
            plan = "\n".join(str(row[-1]) for row in rows)
            started = time.perf_counter()
            (await connection.exec_driver_sql(sql, parameters)).all()
            ms = (time.perf_counter() - started) * 1000
    return Statement(" ".join(sql.split()), ms, plan)


def markdown_table(results: list[Result]) -> str:
    lines = [
        "| URL | p50 ms | p95 ms | slowest ms | requests | SQL statements | slowest statement ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        slowest = max((s.ms for s in r.statements), default=0.0)
        lines.append(
            f"| {r.label} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.max_ms:.1f} | {r.requests} "
            f"| {len(r.statements)} | {slowest:.1f} |"
        )
    return "\n".join(lines)


def plans_text(results: list[Result], threshold_ms: float) -> str:
    """The plans of the statements slower than `threshold_ms`, page by page, as Markdown."""
    parts = []
    for r in results:
        slow = [s for s in r.statements if s.ms >= threshold_ms]
        for s in sorted(slow, key=lambda s: -s.ms):
            parts.append(
                f"### {r.label}: {s.ms:.1f} ms\n\n```sql\n{s.sql}\n```\n\n```\n{s.plan}\n```\n"
            )
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="filled unless it holds posts")
    parser.add_argument("--duration", type=float, default=10, help="seconds per URL")
    parser.add_argument("--workers", type=int, default=2, help="hypercorn worker processes")
    parser.add_argument("--only", default="", help="measure only URLs whose label has this")
    parser.add_argument("--skip", default="", help="leave out URLs whose label has this")
    parser.add_argument("--plan-ms", type=float, default=5, help="write plans of slower statements")
    parser.add_argument("--name", default="large", help="name of the files in bench/results/")
    args = parser.parse_args()
    started = datetime.now(UTC)
    url = args.database_url

    filled = fill(url)
    if filled is not None:
        print(f"== filled in {filled:.0f} s", flush=True)
    # On PostgreSQL: the state autovacuum leaves some time after a bulk load.
    asyncio.run(_settle(url))
    sample = asyncio.run(find_sample(url))
    print(f"== {sample}", flush=True)
    wanted = targets(sample, args.only, args.skip)
    with tempfile.TemporaryDirectory(prefix="flasky-bench-") as scratch:
        log = Path(scratch) / "hypercorn.log"
        with hypercorn("service.asgi:app", flasky_environment(url), args.workers, log) as server:
            token = api_token(server.url, sample.follower[1])
            results = asyncio.run(measure(server.url, sample, wanted, args.duration, token))
    plans = asyncio.run(explain(url, sample, wanted, token))
    for result in results:
        result.statements = plans[result.label]

    table = markdown_table(results)
    print("\n" + table)
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / f"{started:%Y%m%d-%H%M%S}-{args.name}"
    stem.with_suffix(".md").write_text(plans_text(results, args.plan_ms))
    stem.with_suffix(".json").write_text(
        json.dumps(
            {
                "started": started.isoformat(),
                "command": " ".join(sys.argv),
                "machine": f"{platform.platform()}, {os.cpu_count()} CPUs",
                "database": url.split(":")[0],
                "fill_seconds": filled,
                "sample": asdict(sample),
                "results": [asdict(result) for result in results],
                "table": table,
            },
            indent=2,
        )
    )
    print(f"\nRaw numbers: {stem.relative_to(ROOT)}.json; plans: {stem.relative_to(ROOT)}.md")


if __name__ == "__main__":
    main()
