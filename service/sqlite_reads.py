"""One thread per process that runs the statements of every SQLite read transaction.

aiosqlite gives each connection a thread of its own, and a request's reads
went to whichever connection the pool handed it, so a worker's reads were
spread over as many threads as it had connections open. Every trip to one
of them woke a sleeping thread, which then took the GIL from the event
loop's thread and gave it back. One thread that runs every reader's
statements is mostly awake when the next one comes: with a core to spare
(one worker, wrk's c=8), the signed-in profile's kernel time per request
went from 1.4-1.7 ms to 0.65-0.9 ms, and its CPU from 5.9-7.0 ms to
5.7-6.3 ms; with both cores busy (two workers, c=32) the difference is within the
noise (docs/performance.md,
"SQLite connections kept, reads on one thread, start-up frozen").

Writers keep their connection's own aiosqlite thread: their `BEGIN
IMMEDIATE` may wait up to the busy timeout for another process's write lock,
and the readers of this process must not wait with it. Reads are queued in
order, so a slow one (a search) delays the reads queued behind it in this
worker; a page's reads are short, and the CPU they need is the same either
way.

Both threads may use one sqlite3 connection, one after the other: a read
transaction here, a write on the connection's own thread, and its close
there (the pool closes the connection of a request cancelled in the middle
of a read). Each job on either thread holds the connection's lock, so they
never use it at once; `service.sqlite_driver` keeps their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any

_Job = tuple[
    asyncio.AbstractEventLoop | None,
    asyncio.Future[Any] | None,
    threading.Lock,
    Callable[..., Any],
    tuple[Any, ...],
]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """On the event loop: hand a job's outcome to whoever awaits it (if still waiting)."""
    if future.done():  # cancelled: the request has gone
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _work(jobs: SimpleQueue[_Job]) -> None:
    while True:
        loop, future, lock, function, args = jobs.get()
        result, error = None, None
        try:
            with lock:
                result = function(*args)
        except BaseException as raised:  # the caller's to handle, on the event loop
            error = raised
        if loop is None or future is None:
            continue
        # A loop closed since (a test's) has nobody left to tell.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, future, result, error)


class ReadThread:
    """The thread, started with its first job (again in a forked child)."""

    def __init__(self) -> None:
        self._jobs: SimpleQueue[_Job] = SimpleQueue()
        self._started = False

    def forget(self) -> None:
        """After a fork: the parent's thread is not the child's."""
        self.__init__()  # type: ignore[misc]

    def _put(self, job: _Job) -> None:
        if not self._started:
            self._started = True
            threading.Thread(
                target=_work, args=(self._jobs,), name="flasky-sqlite-reads", daemon=True
            ).start()
        self._jobs.put(job)

    def run(self, lock: threading.Lock, function: Callable[..., Any], *args: Any) -> Any:
        """Queue `function(*args)`, holding `lock`; an awaitable of its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._put((loop, future, lock, function, args))
        return future

    def send(self, lock: threading.Lock, function: Callable[..., Any], *args: Any) -> None:
        """Queue `function(*args)`, holding `lock`, with nobody waiting for it."""
        self._put((None, None, lock, function, args))


READS = ReadThread()
os.register_at_fork(after_in_child=READS.forget)
