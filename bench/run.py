"""Benchmark Flasky as production runs it: requests/s and latency percentiles, measured with wrk.

    python bench/run.py                       # the full run written up in docs/performance.md
    python bench/run.py --duration 3 --large-posts 0 --only index

Steps:
1. Seed a database with `flasky deploy` and `flasky fake --users 100 --posts
   2000` (comments: the default, two per post; fixed seed). SQLite by default;
   `--database-url` names an empty PostgreSQL database instead.
2. Serve it with `hypercorn --config docs/hypercorn.toml service.asgi:app`
   (2 workers, access log on), FLASKY_CONFIG=production, and bench/hello.py,
   a bare Quart app (the framework's ceiling, its workers sharing new
   connections as Flasky's do), the same way beside it.
3. For every endpoint: one second of warm-up, then for each concurrency C
   (1 and 32) `wrk -t1 -c<C> -d<D>s --latency` against the bare app, and
   right after it the same against the endpoint. The pages are measured
   anonymous and signed in (the login cookies of a fake user, logged in
   through the form once). The last endpoint writes posts through the API;
   they are deleted again afterwards.
4. A second database with 100,000 posts: the index's first page, a deep page,
   and searches (`SEARCHES`).

Prints a Markdown table with each row's requests/s as a share of the bare
app's measured just before it (the machine's speed drifts over a run), and
the goal of SPEC §8.6; the raw numbers also go to bench/results/ as JSON.
Seeded databases are reused when they already hold posts (SQLite files are
kept with `--data-dir`), so before/after comparisons measure the same data.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
HYPERCORN_CONFIG = ROOT / "docs" / "hypercorn.toml"
BIN = Path(sys.executable).parent
SMALL = {"users": 100, "posts": 2000}
DEEP_PAGE = 4000
# Searches on the large database (fake posts are English lorem ipsum): a rare
# word, a word most posts contain, two words, and a two-character query, which
# the SQLite trigram index cannot look up (a substring scan of every post).
SEARCHES = {
    "a rare word": "father",
    "a common word": "the",
    "two words": "father plant",
    "two characters": "go",
    "two Chinese characters": "天气",
}
FAKE_PASSWORD = "password"  # noqa: S105 (what `flasky fake` gives every user)
BARE_LABEL = "bare Quart `hello`"
# SPEC §8.6: the share of the bare app's requests/s each row must reach at c=32.
GOALS = {"`/auth/login`": 0.5}
GOAL = 0.25


WRITTEN_BODY = "Written by the benchmark, with **Markdown** to render."


@dataclass(frozen=True)
class Target:
    """One URL to load, with the headers every request carries and an optional wrk script."""

    label: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    script: Path | None = None


@dataclass(frozen=True)
class Measurement:
    label: str
    path: str
    connections: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    # Of the CPU the workers used during the run, the share of the busiest one.
    busiest_worker_share: float | None = None
    # The CPU time the workers used during the run, all of them together.
    cpu_seconds: float | None = None
    # The bare app measured at the same concurrency just before this run.
    baseline: Measurement | None = None

    @property
    def requests_per_cpu_second(self) -> float | None:
        """Requests per second of worker CPU: what a request costs, however the load was split."""
        return self.requests / self.cpu_seconds if self.cpu_seconds else None

    def ratio(self) -> float | None:
        """Requests/s as a share of the bare app's, measured just before this run."""
        bare = self.baseline
        return self.requests_per_second / bare.requests_per_second if bare else None

    def ratio_per_cpu_second(self) -> float | None:
        """Requests per CPU-second as a share of the bare app's, measured just before."""
        mine = self.requests_per_cpu_second
        bare = self.baseline.requests_per_cpu_second if self.baseline else None
        return mine / bare if mine and bare else None


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit(
            "bench/run.py needs wrk, the HTTP load generator: "
            "apt-get install wrk (Debian, Ubuntu) or brew install wrk (macOS)."
        )
    return wrk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(database_url: str, posts: int) -> None:
    """`flasky deploy` and `flasky fake` into `database_url`, with a fixed random seed."""
    environment = {**os.environ, **flasky_environment(database_url)}
    for command in (
        ["deploy"],
        ["fake", "--users", str(SMALL["users"]), "--posts", str(posts), "--seed", "1"],
    ):
        subprocess.run([str(BIN / "flasky"), *command], cwd=ROOT, env=environment, check=True)
    asyncio.run(_settle(database_url))


async def _settle(database_url: str) -> None:
    """What autovacuum does to PostgreSQL some time after a bulk load: measure that state.

    Fresh rows have no planner statistics and no visibility map, so right after
    `flasky fake` PostgreSQL counts and sorts by scanning the heap.
    """
    from service.db import make_engine

    engine = make_engine(database_url)
    try:
        if engine.dialect.name == "postgresql":
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                await connection.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()


def sqlite_url(data_dir: Path, posts: int) -> str:
    return f"sqlite:///{data_dir / f'flasky-{posts}-posts.sqlite'}"


async def _post_count(database_url: str) -> int | None:
    """How many posts the database holds; None when it has no schema yet."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import DBAPIError

    from service.db import make_engine
    from service.models import Post

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.scalar(select(func.count(Post.id)))
    except DBAPIError:
        return None
    finally:
        await engine.dispose()


def seeded_database(database_url: str, posts: int) -> str:
    """`database_url`, seeded with `posts` fake posts unless it already holds some."""
    if not asyncio.run(_post_count(database_url)):
        print(f"== seeding {posts:,} posts", flush=True)
        seed(database_url, posts)
    return database_url


async def _delete_written_posts(database_url: str) -> None:
    from sqlalchemy import delete

    from service.db import make_engine
    from service.models import Post

    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(delete(Post).where(Post.body == WRITTEN_BODY))
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Server:
    """A running hypercorn: where it answers, and its master's process id."""

    url: str
    pid: int

    def worker_cpu_seconds(self) -> list[float]:
        """CPU time used so far by each worker process (Linux /proc; empty elsewhere)."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
            workers = [
                child
                for child in children
                if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
            ]
            ticks = [Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split() for w in workers]
        except OSError:
            return []
        per_second = os.sysconf("SC_CLK_TCK")
        # utime and stime: fields 14 and 15 of /proc/<pid>/stat, 12 and 13 after the name.
        return [(int(fields[11]) + int(fields[12])) / per_second for fields in ticks]


@contextlib.contextmanager
def hypercorn(app: str, environment: dict[str, str], workers: int, log: Path) -> Iterator[Server]:
    """Serve `app` with the deployment guide's hypercorn config on a free loopback port."""
    port = free_port()
    command = [
        sys.executable, "-m", "hypercorn", app,
        "--config", str(HYPERCORN_CONFIG),
        "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **environment},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process.pid)
    try:
        wait_until_healthy(server.url, process, log)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"hypercorn exited at start-up:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.05)
    sys.exit(f"hypercorn did not become healthy:\n{log.read_text(errors='replace')}")


def flasky_environment(database_url: str) -> dict[str, str]:
    return {
        "FLASKY_CONFIG": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        # Plain http on loopback; the numbers do not depend on the flag.
        "FLASKY_COOKIE_SECURE": "false",
    }


async def _sample_rows(database_url: str) -> tuple[int, str, str]:
    """A post and an author with a median number of comments and posts, and a user's e-mail."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import aliased

    from service.db import make_engine
    from service.models import Comment, Post, User

    def median_of(rows: list[tuple[object, int]]) -> object:
        return sorted(rows, key=lambda row: row[1])[len(rows) // 2][0]

    engine = make_engine(database_url)
    commented = aliased(Comment)
    try:
        async with engine.connect() as connection:
            per_post = await connection.execute(
                select(Post.id, func.count(commented.id))
                .outerjoin(commented, commented.post_id == Post.id)
                .group_by(Post.id)
            )
            per_user = await connection.execute(
                select(User.username, func.count(Post.id))
                .outerjoin(Post, Post.author_id == User.id)
                .group_by(User.id)
            )
            post_id = median_of([tuple(row) for row in per_post])
            username = median_of([tuple(row) for row in per_user])
            email = await connection.scalar(select(User.email).order_by(User.id).limit(1))
    finally:
        await engine.dispose()
    assert isinstance(post_id, int) and isinstance(username, str) and email is not None
    return post_id, username, email


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def login_cookies(base_url: str, email: str) -> str:
    """A `Cookie` header of a browser signed in through the login form (CSRF token and all)."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        form = client.get("/auth/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None, "no CSRF token on the login page"
        response = client.post(
            "/auth/login",
            data={"email": email, "password": FAKE_PASSWORD, "csrf_token": token.group(1)},
        )
        assert response.status_code == 302, f"login failed: {response.status_code}"
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def api_token(base_url: str, email: str) -> str:
    response = httpx.post(f"{base_url}/api/v1/tokens/", auth=(email, FAKE_PASSWORD), timeout=10)
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str) -> tuple[float, float, float, int, int]:
    """Requests/s, p50 and p99 in ms, requests and errors (non-2xx/3xx and socket errors)."""
    latency = {q: float(v) * _UNITS_MS[unit] for q, v, unit in _LATENCY.findall(output)}
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    requests = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if rate is None or requests is None or set(latency) != {"50", "99"}:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = sum(
        int(n)
        for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", output)
        + re.findall(r"(?:connect|read|write|timeout) (\d+)", output)
    )
    return float(rate.group(1)), latency["50"], latency["99"], int(requests.group(1)), errors


def wrk(server: Server, target: Target, connections: int, duration: int) -> Measurement:
    # A 10 s timeout: slow answers are measured, not dropped (wrk's default gives up at 2 s).
    command = [
        require_wrk(), "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "10s", "--latency"
    ]  # fmt: skip
    for name, value in target.headers.items():
        command += ["-H", f"{name}: {value}"]
    if target.script is not None:
        command += ["-s", str(target.script)]
    cpu_before = server.worker_cpu_seconds()
    output = subprocess.run(
        [*command, server.url + target.path], capture_output=True, text=True, check=True
    ).stdout
    cpu_after = server.worker_cpu_seconds()
    used = [after - before for before, after in zip(cpu_before, cpu_after, strict=True)]
    share = max(used) / sum(used) if used and sum(used) > 0 else None
    rate, p50, p99, requests, errors = parse_wrk(output)
    return Measurement(
        target.label,
        target.path,
        connections,
        rate,
        p50,
        p99,
        requests,
        errors,
        share,
        sum(used) if used else None,
    )


def measure(
    server: Server,
    targets: list[Target],
    connections: list[int],
    duration: int,
    bare: Server | None = None,
) -> list[Measurement]:
    """Each target at each concurrency; with `bare`, the bare app just before each run.

    The machine's speed drifts while a run lasts (other jobs share it), so
    each row is compared with the bare app measured a few seconds earlier
    rather than once at the end.
    """
    results = []
    bare_target = Target(BARE_LABEL, "/")
    for target in targets:
        wrk(server, target, 8, 1)  # warm-up: templates compiled, caches filled
        for count in connections:
            baseline = wrk(bare, bare_target, count, duration) if bare is not None else None
            result = replace(wrk(server, target, count, duration), baseline=baseline)
            share = result.busiest_worker_share
            ratio = result.ratio()
            print(
                f"{result.label:<34} c={count:<3} {result.requests_per_second:8.1f} req/s  "
                f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
                f"errors {result.errors}  busiest worker "
                + (f"{share:.0%}" if share is not None else "?")
                + (f"  ratio {ratio:.3f}" if ratio is not None else ""),
                flush=True,
            )
            results.append(result)
    return results


def post_script(directory: Path) -> Path:
    """A wrk script that writes a post through the API on every request."""
    script = directory / "write-post.lua"
    body = json.dumps({"body": WRITTEN_BODY})
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    return script


# Who requests an endpoint: nobody (wrk sends no cookies), the fake user's
# browser, signed in through the form, or an API client with a token.
ANONYMOUS, SIGNED_IN, TOKEN = "anonymous", "signed in", "token"
WRITE_LABEL = "`POST /api/v1/posts/` (token, a write)"


def read_endpoints(post_id: int, username: str) -> list[tuple[str, str, str]]:
    """(label, path, caller) of each endpoint that reads: the rows of SPEC §8.6's goal.

    bench/run.py and bench/instructions.py measure the same list.
    """
    pages = [
        ("`/`", "/"),
        ("`/post/<id>`", f"/post/{post_id}"),
        ("`/user/<name>`", f"/user/{username}"),
    ]
    return [
        *((label, path, ANONYMOUS) for label, path in pages),
        ("`/auth/login`", "/auth/login", ANONYMOUS),
        *((f"{label} (signed in)", path, SIGNED_IN) for label, path in pages),
        ("`/api/v1/posts/?page=2` (token)", "/api/v1/posts/?page=2", TOKEN),
        ("`/api/v1/posts/<id>` (token)", f"/api/v1/posts/{post_id}", TOKEN),
    ]


def flasky_targets(base_url: str, database_url: str, only: str, scratch: Path) -> list[Target]:
    """The pages and API calls measured, restricted to labels containing `only`."""
    post_id, username, email = asyncio.run(_sample_rows(database_url))
    print(f"   post {post_id}, user {username}: a median number of comments and posts")
    endpoints = [
        (label, path, caller)
        for label, path, caller in [
            *read_endpoints(post_id, username),
            (WRITE_LABEL, "/api/v1/posts/", TOKEN),
        ]
        if only.lower() in label.lower()
    ]
    callers = {caller for _label, _path, caller in endpoints}
    headers: dict[str, dict[str, str]] = {ANONYMOUS: {}}
    if SIGNED_IN in callers:
        headers[SIGNED_IN] = {"Cookie": login_cookies(base_url, email)}
    if TOKEN in callers:
        headers[TOKEN] = {"Authorization": basic_auth(api_token(base_url, email), "")}
    return [
        Target(label, path, headers[caller], post_script(scratch) if label == WRITE_LABEL else None)
        for label, path, caller in endpoints
    ]


def goal(label: str) -> float | None:
    """The share of the bare app's requests/s SPEC §8.6 asks of this row, if any."""
    # None for the bare app itself, the write, and the rows of the large database.
    if label == BARE_LABEL or label.startswith("`POST ") or label.endswith(" posts"):
        return None
    return next((share for page, share in GOALS.items() if label.startswith(page)), GOAL)


def _bare_rows(results: list[Measurement]) -> list[Measurement]:
    """The bare app's row: the median of its runs at each concurrency (each row has its own)."""
    rows = []
    for count in dict.fromkeys(r.connections for r in results):
        runs = sorted(
            (r.baseline for r in results if r.connections == count and r.baseline),
            key=lambda run: run.requests_per_second,
        )
        if runs:
            rows.append(replace(runs[len(runs) // 2], baseline=runs[len(runs) // 2]))
    return rows


def markdown_table(results: list[Measurement], connections: list[int]) -> str:
    """One row per endpoint, with its share of the bare app's requests/s ("ratio").

    Each run is compared with the bare app's run at the same concurrency just
    before it; the bare app's row shows the median of those runs. The last
    columns: the goal at the top concurrency, the busiest worker's CPU share
    at that load, and the ratio of requests per CPU-second there. Both apps'
    workers take turns at accepting wrk's connections (service.accepting);
    should they still land on one worker (busiest worker 100%), the
    requests/s ratio measures one worker against two. Requests per
    CPU-second do not depend on that split.
    """
    top = max(connections)
    results = [*results, *_bare_rows(results)]
    header = "| endpoint | " + " | ".join(
        f"c={c} req/s | c={c} ratio | c={c} p50 ms | c={c} p99 ms" for c in connections
    )
    lines = [
        f"{header} | goal (c={top}) | c={top} busiest worker | c={top} ratio per CPU-s |",
        "|---" * (4 + 4 * len(connections)) + "|",
    ]
    labels = list(dict.fromkeys(result.label for result in results))
    for label in labels:
        runs = {r.connections: r for r in results if r.label == label}
        cells = []
        for count in connections:
            result = runs[count]
            flag = f" ({result.errors} errors)" if result.errors else ""
            ratio = result.ratio()
            cells.append(
                f"{result.requests_per_second:,.0f}{flag} | "
                + (f"{ratio:.3f}" if ratio is not None else "?")
                + f" | {result.p50_ms:.1f} | {result.p99_ms:.1f}"
            )
        wanted, top_ratio = goal(label), runs[top].ratio()
        cells.append(
            "—"
            if wanted is None
            else f"{wanted} "
            + ("?" if top_ratio is None else "met" if top_ratio >= wanted else "not met")
        )
        share = runs[top].busiest_worker_share
        cells.append(f"{share:.0%}" if share is not None else "?")
        per_cpu = runs[top].ratio_per_cpu_second()
        cells.append(f"{per_cpu:.3f}" if per_cpu is not None else "?")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--connections", default="1,32", help="concurrency levels, e.g. 1,32")
    parser.add_argument("--workers", type=int, default=2, help="hypercorn worker processes")
    parser.add_argument("--large-posts", type=int, default=100_000, help="0 skips the large run")
    parser.add_argument("--only", default="", help="measure only endpoints whose label has this")
    parser.add_argument("--data-dir", type=Path, help="keep the seeded SQLite files here")
    parser.add_argument("--database-url", help="database for the 2,000 posts (default: SQLite)")
    parser.add_argument("--large-database-url", help="database for the large run")
    parser.add_argument("--name", default="run", help="name of the JSON file in bench/results/")
    args = parser.parse_args()
    require_wrk()
    connections = [int(c) for c in args.connections.split(",")]
    started = datetime.now(UTC)

    with tempfile.TemporaryDirectory(prefix="flasky-bench-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        log = Path(scratch) / "hypercorn.log"
        results: list[Measurement] = []

        def wanted(targets: list[Target]) -> list[Target]:
            return [t for t in targets if args.only.lower() in t.label.lower()]

        database_url = seeded_database(
            args.database_url or sqlite_url(data_dir, SMALL["posts"]), SMALL["posts"]
        )
        # The bare app serves throughout, measured just before every run of ours.
        with hypercorn("bench.hello:app", {}, args.workers, log) as bare:
            print(f"== Flasky, {SMALL['posts']:,} posts, {args.workers} workers", flush=True)
            environment = flasky_environment(database_url)
            with hypercorn("service.asgi:app", environment, args.workers, log) as server:
                targets = flasky_targets(server.url, database_url, args.only, Path(scratch))
                results += measure(server, targets, connections, args.duration, bare)
            asyncio.run(_delete_written_posts(database_url))

            if args.large_posts:
                database_url = seeded_database(
                    args.large_database_url or sqlite_url(data_dir, args.large_posts),
                    args.large_posts,
                )
                print(f"== Flasky, {args.large_posts:,} posts", flush=True)
                environment = flasky_environment(database_url)
                with hypercorn("service.asgi:app", environment, args.workers, log) as server:
                    large = [
                        Target(f"`/`, {args.large_posts:,} posts", "/"),
                        Target(
                            f"`/?page={DEEP_PAGE}`, {args.large_posts:,} posts",
                            f"/?page={DEEP_PAGE}",
                        ),
                        *(
                            Target(
                                f"`/search?q={query}` ({kind}), {args.large_posts:,} posts",
                                "/search?" + urlencode({"q": query}),
                            )
                            for kind, query in SEARCHES.items()
                        ),
                    ]
                    results += measure(server, wanted(large), connections, args.duration, bare)

    table = markdown_table(results, connections)
    print("\n" + table)
    RESULTS.mkdir(exist_ok=True)
    output = RESULTS / f"{started:%Y%m%d-%H%M%S}-{args.name}.json"
    output.write_text(
        json.dumps(
            {
                "started": started.isoformat(),
                "command": " ".join(sys.argv),
                "machine": f"{platform.platform()}, {os.cpu_count()} CPUs",
                "database": (args.database_url or "sqlite").split(":")[0],
                "python": platform.python_version(),
                "results": [asdict(result) for result in results],
                "table": table,
            },
            indent=2,
        )
    )
    print(f"\nRaw numbers: {output.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
