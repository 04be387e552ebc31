"""Where a request's instructions go, phase by phase: valgrind's counts between markers.

    python -m bench.phases --data-dir <directory> --only '/user/<name>` (signed in)'

The profile behind docs/performance.md's "Phases" tables. As in
bench/instructions.py (whose endpoints, data and valgrind run it shares),
callgrind writes out its counts at each call of `os.getppid()`; here such a
marker is placed where each phase of a request begins and ends: Quart's
handling, each before-request hook, the view, the SQL statements, each
template global a page calls, the render, the session cookie, the
teardown. Each stretch between two markers belongs to the innermost phase
open then, so a phase's figure is its own instructions, without those of
the phases inside it; "outside" is the test client and the ASGI call. The
markers cost a few thousand instructions each, so the total is a little
above bench.instructions' figure for the same endpoint. `--also
MODULE:NAME` gives any function a phase of its own, as its callers look it
up (`service.main.views:render_template` for the views' renders).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import importlib
import inspect
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.instructions import WARM_UP, _client_targets, counted_run, dumps, instructions
from bench.run import SMALL, flasky_environment, seeded_database, sqlite_url

OUTSIDE = "outside (test client, ASGI)"


class _Phases:
    """The open phases, and the phase each stretch between two markers belonged to."""

    def __init__(self) -> None:
        self.open = [OUTSIDE]
        self.stretches: list[str] = []

    def mark(self, enter: str | None = None) -> None:
        os.getppid()  # callgrind: the stretch that ends here goes to a file of its own
        self.stretches.append(self.open[-1])
        if enter is None:
            self.open.pop()
        else:
            self.open.append(enter)

    def wrapped(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def coroutine(*args: Any, **kwargs: Any) -> Any:
                self.mark(label)
                try:
                    return await function(*args, **kwargs)
                finally:
                    self.mark()

            return coroutine

        @functools.wraps(function)
        def plain(*args: Any, **kwargs: Any) -> Any:
            self.mark(label)
            try:
                return function(*args, **kwargs)
            finally:
                self.mark()

        return plain

    def wrap(self, owner: Any, name: str, label: str) -> None:
        setattr(owner, name, self.wrapped(getattr(owner, name), label))


def _instrument(phases: _Phases, app: Any, also: list[str]) -> None:
    import jinja2
    import quart
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

    for name, label in [
        ("handle_request", "Quart: request context, routing"),
        ("full_dispatch_request", "Quart: dispatch"),
        ("preprocess_request", "Quart: before-request"),
        ("dispatch_request", "view"),
        ("finalize_request", "Quart: response"),
        ("process_response", "Quart: after-request"),
        ("do_teardown_request", "Quart: teardown"),
        ("do_teardown_appcontext", "Quart: teardown"),
    ]:
        phases.wrap(quart.Quart, name, label)
    phases.wrap(jinja2.Template, "render", "render (templates)")
    phases.wrap(AsyncSession, "execute", "SQL: ORM statement")
    phases.wrap(AsyncSession, "scalar", "SQL: ORM statement")
    phases.wrap(AsyncSession, "get", "SQL: ORM statement")
    phases.wrap(AsyncSession, "run_sync", "SQL: plain rows (read_rows)")
    phases.wrap(AsyncConnection, "execute", "SQL: plain rows (read_rows)")
    phases.wrap(AsyncSession, "connection", "SQL: session's connection")
    phases.wrap(AsyncSession, "close", "SQL: session closed")
    interface = type(app.session_interface)
    phases.wrap(interface, "open_session", "session cookie read")
    phases.wrap(interface, "save_session", "session cookie written")
    for hooks, kind in [
        (app.before_request_funcs, "before-request"),
        (app.after_request_funcs, "after-request"),
        (app.template_context_processors, "context processor"),
    ]:
        for functions in hooks.values():
            functions[:] = [
                phases.wrapped(f, f"{kind}: {f.__module__}.{f.__name__}") for f in functions
            ]
    globals_ = app.jinja_env.globals  # the synchronous environment shares them
    for name, value in list(globals_.items()):
        if inspect.isfunction(value) or inspect.ismethod(value):
            globals_[name] = phases.wrapped(value, f"template global: {name}()")
    for target in also:
        module, _, path = target.partition(":")
        *owners, name = path.split(".")
        owner = importlib.import_module(module)
        for attribute in owners:
            owner = getattr(owner, attribute)
        phases.wrap(owner, name, target)


async def _inner(database_url: str, only: str, requests: int, also: list[str]) -> dict[str, Any]:
    """Under valgrind: request the endpoint, with markers around each phase."""
    os.environ.update(flasky_environment(database_url))
    from service import create_app

    app = create_app()
    targets = await _client_targets(app, database_url)
    label, client, path, headers = next(t for t in targets if only.lower() in t[0].lower())
    for _ in range(WARM_UP):
        await client.get(path, headers=headers)
    phases = _Phases()
    _instrument(phases, app, also)
    phases.mark(OUTSIDE)  # the warm-up's counts end here; OUTSIDE stays open
    for _ in range(requests):
        await client.get(path, headers=headers)
    phases.mark()
    return {"endpoint": label, "stretches": phases.stretches}


def _outer(database_url: str, only: str, requests: int, also: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="flasky-phases-") as scratch:
        out, labels = Path(scratch) / "callgrind.out", Path(scratch) / "labels.json"
        inner = [sys.executable, "-m", "bench.phases", "--inner", database_url, str(labels)]
        options = ["--only", only, "--requests", str(requests), *(f"--also={a}" for a in also)]
        counted_run(out, [*inner, *options])
        recorded = json.loads(labels.read_text())
        # File 1 is the warm-up; file k + 1 the stretch that ended at the k-th marker after it.
        totals: collections.Counter[str] = collections.Counter()
        for stretch, dump in zip(recorded["stretches"][1:], dumps(out)[1:], strict=False):
            totals[stretch] += instructions(dump)
    total = sum(totals.values())
    print(f"\n{recorded['endpoint']}: {total / requests / 1e6:.2f} million instructions a request")
    print("\n| phase | instructions per request (millions) | share |\n|---|---|---|")
    for phase, count in totals.most_common():
        print(f"| {phase} | {count / requests / 1e6:.3f} | {count / total:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", required=True, help="the endpoint: a part of its label")
    parser.add_argument("--requests", type=int, default=10, help="requests counted")
    parser.add_argument("--data-dir", type=Path, help="keep the seeded SQLite file here")
    parser.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="MODULE:NAME",
        help="a phase of its own for this function, as looked up by its callers"
        " (service.queries:all_posts, service.main.views:render_template); repeatable",
    )
    parser.add_argument("--inner", nargs=2, metavar=("URL", "LABELS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        recorded = asyncio.run(_inner(args.inner[0], args.only, args.requests, args.also))
        Path(args.inner[1]).write_text(json.dumps(recorded))
        return
    with tempfile.TemporaryDirectory(prefix="flasky-bench-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        database_url = seeded_database(sqlite_url(data_dir, SMALL["posts"]), SMALL["posts"])
        _outer(database_url, args.only, args.requests, args.also)


if __name__ == "__main__":
    main()
