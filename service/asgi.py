"""The ASGI entry point: `hypercorn service.asgi:app`.

A configuration the app cannot run with stops the server with one clear line
on stderr and a non-zero exit status, not a traceback and a status of 0.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
from typing import NoReturn

from . import create_app
from .config import ConfigError


def _refuse_to_start(error: ConfigError) -> NoReturn:
    """Say why the app cannot start, and make its server exit with a failure.

    hypercorn (0.18 and earlier) imports the app in a worker process, and its
    main process exits with status 0 after its workers have died, whatever
    their status (pgjones/hypercorn#269): a supervisor or a shell script
    would read a refused configuration as a clean stop. So a worker whose
    parent is still the hypercorn process that spawned it stops that parent
    with SIGUSR1, whose default action ends it with a failure status. Every
    worker reads the same environment and fails the same way, so none is
    left serving. Outside hypercorn's workers (`python -c "import
    service.asgi"`, another server) only this process exits, with status 2.
    """
    print(f"Flasky cannot start: {error}", file=sys.stderr, flush=True)
    parent = multiprocessing.parent_process()
    hypercorn_worker = any(
        module in sys.modules for module in ("hypercorn.asyncio.run", "hypercorn.trio.run")
    )
    if parent is not None and hypercorn_worker and parent.pid == os.getppid():
        os.kill(parent.pid, signal.SIGUSR1)
    raise SystemExit(2)


try:
    app = create_app()
except ConfigError as error:
    _refuse_to_start(error)


@app.before_serving
async def _freeze_start_up_objects() -> None:
    """Leave the objects of start-up out of the garbage collector's passes.

    The app, its routes, the ORM's mappings and the libraries' modules —
    about 110,000 objects — live as long as the worker, and every pass of
    the cyclic collector over the oldest generation walked them all; with
    many requests at once those passes come often (a request's objects
    outlive a young generation's). Frozen after one collection, they are
    never walked again: ~10% of the CPU of a page at wrk's c=32
    (docs/performance.md,
    "SQLite connections kept, reads on one thread, start-up frozen").
    Only a served app freezes: the test suite makes an app per test.
    """
    gc.collect()
    gc.freeze()
