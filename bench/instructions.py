"""What a request costs the app in instructions, counted by valgrind: the same on a busy machine.

    python -m bench.instructions --data-dir <directory>
    python -m bench.instructions --only login --requests 50

wrk's figures (bench/run.py) move by ±20% with the machine's other jobs, as
much as one optimisation changes them. valgrind's callgrind counts the
instructions the process executes, which another job does not change; two
runs of the same code differ by under 1%. So a change can be measured alone:
run this before and after it (a worktree of the earlier commit, same data).

Steps: seed the benchmark's small database (bench/run.py's, reused with
`--data-dir`), then run this module again under `valgrind --tool=callgrind`.
There the app is built as production runs it (FLASKY_CONFIG=production) and
each endpoint of bench/run.py's table is requested through Quart's test
client: anonymous without cookies (as wrk sends them), signed in with the
cookies of a login through the form, the API with a token; and the bare
Quart app of bench/hello.py the same way. Each endpoint gets a warm-up, then
`--requests` requests between two calls of `os.getppid()`, before each of
which callgrind writes out its counts (`--dump-before=os_getppid`): the
instructions of one endpoint's requests, every thread's (SQLite's included).

Prints instructions per request, and the bare app's as a share of each
("ratio": what the throughput ratio would be if the server cost nothing).
The server (hypercorn parsing and writing HTTP) is not in these figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.run import (
    ANONYMOUS,
    BARE_LABEL,
    FAKE_PASSWORD,
    ROOT,
    SIGNED_IN,
    SMALL,
    TOKEN,
    _sample_rows,
    basic_auth,
    flasky_environment,
    read_endpoints,
    seeded_database,
    sqlite_url,
)

WARM_UP = 10
# callgrind writes a file before every call of this C function (os.getppid's).
MARKER = "os_getppid"


Target = tuple[str, Any, str, dict[str, str]]


async def _client_targets(app: Any, database_url: str) -> list[Target]:
    """(label, test client, path, headers) of every endpoint bench/run.py measures but the write."""
    post_id, username, email = await _sample_rows(database_url)
    signed_in = app.test_client()
    form = await (await signed_in.get("/auth/login")).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None, "no CSRF token on the login page"
    login = await signed_in.post(
        "/auth/login",
        form={"email": email, "password": FAKE_PASSWORD, "csrf_token": token.group(1)},
    )
    assert login.status_code == 302, f"login failed: {login.status_code}"
    api = app.test_client()
    password = {"Authorization": basic_auth(email, FAKE_PASSWORD)}
    issued = await api.post("/api/v1/tokens/", headers=password)
    api_token = (await issued.get_json())["token"]
    clients = {
        ANONYMOUS: (app.test_client(use_cookies=False), {}),
        SIGNED_IN: (signed_in, {}),
        TOKEN: (api, {"Authorization": basic_auth(api_token, "")}),
    }
    return [
        (label, clients[caller][0], path, clients[caller][1])
        for label, path, caller in read_endpoints(post_id, username)
    ]


async def _counted(client: Any, path: str, headers: dict[str, str], requests: int) -> None:
    for _ in range(WARM_UP):
        response = await client.get(path, headers=headers)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    os.getppid()  # callgrind: the counts so far go to a file of their own
    for _ in range(requests):
        await client.get(path, headers=headers)
    os.getppid()  # callgrind: these requests' counts, in the next file


async def _inner(database_url: str, only: str, requests: int) -> None:
    """Under valgrind: request every endpoint, and print the label of each measured one."""
    os.environ.update(flasky_environment(database_url))
    from bench.hello import app as hello
    from service import create_app

    targets = await _client_targets(create_app(), database_url)
    targets.append((BARE_LABEL, hello.test_client(), "/", {}))
    for label, client, path, headers in targets:
        if only.lower() in label.lower() or label == BARE_LABEL:
            await _counted(client, path, headers, requests)
            print(f"measured: {label}", flush=True)


def instructions(dump: Path) -> int:
    """The instructions a file of counts holds."""
    found = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(), re.MULTILINE)
    return int(found.group(1)) if found else 0


def counted_run(out: Path, inner: list[str]) -> str:
    """Run the Python command `inner` under callgrind, counts written at each marker; its output.

    The counts go to `out`.1, `out`.2, … (`dumps`): file k holds what ran up
    to the k-th marker since the one before it.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        sys.exit("counting instructions needs valgrind: apt-get install valgrind")
    command = [
        valgrind, "--tool=callgrind", f"--dump-before={MARKER}",
        f"--callgrind-out-file={out}", *inner,
    ]  # fmt: skip
    print("== counting under valgrind (about a minute)", flush=True)
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"the run under valgrind failed:\n{run.stdout}\n{run.stderr}")
    return run.stdout


def dumps(out: Path) -> list[Path]:
    """The files of counts of a `counted_run`, in the order the markers were met."""
    return sorted(out.parent.glob(f"{out.name}.*"), key=lambda p: int(p.suffix[1:]))


def _outer(database_url: str, only: str, requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="flasky-callgrind-") as scratch:
        out = Path(scratch) / "callgrind.out"
        inner = [sys.executable, "-m", "bench.instructions", "--inner", database_url]
        stdout = counted_run(out, [*inner, "--only", only, "--requests", str(requests)])
        labels = re.findall(r"^measured: (.+)$", stdout, re.MULTILINE)
        # The odd files (1, 3, …) end before a measured loop, the even ones hold it.
        counted = dumps(out)
        per_request = {
            label: instructions(counted[2 * n + 1]) / requests for n, label in enumerate(labels)
        }
    bare = per_request[BARE_LABEL]
    print("\n| endpoint | instructions per request (millions) | ratio |\n|---|---|---|")
    for label, count in per_request.items():
        print(f"| {label} | {count / 1e6:.2f} | {bare / count:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="requests counted per endpoint")
    parser.add_argument("--only", default="", help="measure only endpoints whose label has this")
    parser.add_argument("--data-dir", type=Path, help="keep the seeded SQLite file here")
    parser.add_argument("--database-url", help="database for the 2,000 posts (default: SQLite)")
    parser.add_argument("--inner", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        asyncio.run(_inner(args.inner, args.only, args.requests))
        return
    with tempfile.TemporaryDirectory(prefix="flasky-bench-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        database_url = seeded_database(
            args.database_url or sqlite_url(data_dir, SMALL["posts"]), SMALL["posts"]
        )
        _outer(database_url, args.only, args.requests)


if __name__ == "__main__":
    main()
