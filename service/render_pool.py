"""Markdown for requests: rendered in separate processes, each render within a time budget.

markdown-it is pure Python and some inputs cost it seconds (`"*a" * 200_000`
took 6.8 s), so rendering on the event loop would stall every other request
of the worker. Here each render runs in a render process (`render_worker.py`)
and the event loop only waits for the answer:

- `RENDER_PROCESSES` threads each own one render process, started on first
  use; a render is handed to a free thread (a `ThreadPoolExecutor`), so
  renders never share a process and killing one harms no other;
- a render that has not answered within `RENDER_BUDGET` seconds has its
  process killed (the next render on that thread starts a new one) and is
  refused with `TooComplex` ("This text is too complex to display.");
- nothing here belongs to an event loop (threads, pipes and processes only),
  so one pool serves every loop: hypercorn's, or each test's;
- at exit the processes are killed; should the parent die first, a process
  ends when its stdin closes, or at its own alarm (`HARD_LIMIT`) mid-render.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import math
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import render_worker as protocol
from .markdown import TooComplex

RENDER_BUDGET = 2.0
RENDER_PROCESSES = 2
# A render process kills itself after this many seconds of one render, in case
# its parent is gone and cannot.
HARD_LIMIT = math.ceil(RENDER_BUDGET) + 3
# Starting a process (imports included) is not part of a render's budget.
START_TIMEOUT = 30.0
WORKER_SCRIPT = Path(__file__).with_name("render_worker.py")

log = logging.getLogger("flasky.render")


class RenderProcess:
    """One render process and the pipes to it; used by one thread at a time."""

    def __init__(self) -> None:
        # Our own script, with our own arguments: nothing here comes from a request.
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, str(WORKER_SCRIPT), str(HARD_LIMIT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            close_fds=True,
        )
        _running.add(self)
        if self._read(1, time.monotonic() + START_TIMEOUT) != protocol.READY:
            self.kill()
            raise RuntimeError("the render process did not start")

    def alive(self) -> bool:
        return self.process.poll() is None

    def render(self, kind: bytes, text: str, budget: float) -> str:
        """The HTML of `text`; `TooComplex` if refused or slower than `budget` seconds."""
        payload = protocol.encode(text)
        deadline = time.monotonic() + budget
        assert self.process.stdin is not None
        self.process.stdin.write(protocol.HEADER.pack(kind, len(payload)) + payload)
        header = self._read(protocol.HEADER.size, deadline)
        if header is None:
            self.kill()
            raise TooComplex()
        status, size = protocol.HEADER.unpack(header)
        answer = self._read(size, deadline + budget) if size else b""
        if answer is None:
            self.kill()
            raise TooComplex()
        if status == protocol.OK:
            return protocol.decode(answer)
        if status == protocol.ERROR:
            log.error("Render failed: %s", protocol.decode(answer))
        raise TooComplex()

    def _read(self, size: int, deadline: float) -> bytes | None:
        """`size` bytes of the process's answer, or None if it overran `deadline` or died."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        chunks: list[bytes] = []
        while size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                return None
            chunk = os.read(fd, min(size, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            size -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        """End the process now (SIGKILL: a render in Rust code ignores nothing else sooner)."""
        _running.discard(self)
        if self.alive():
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                pipe.close()


_running: set[RenderProcess] = set()
_local = threading.local()
_executor: concurrent.futures.ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _render_here(kind: bytes, text: str) -> str:
    """Render on this thread's own process, starting it if it is not running."""
    process: RenderProcess | None = getattr(_local, "process", None)
    if process is None or not process.alive():
        process = _local.process = RenderProcess()
    try:
        return process.render(kind, text, RENDER_BUDGET)
    except BrokenPipeError:
        process.kill()
        raise TooComplex() from None
    finally:
        if not process.alive():
            _local.process = None


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                RENDER_PROCESSES, thread_name_prefix="flasky-render"
            )
        return _executor


async def _render(kind: bytes, text: str) -> str:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), _render_here, kind, text)


async def post_html(body: str) -> str:
    """A post's sanitized HTML, rendered off the event loop; `TooComplex` if refused."""
    return await _render(protocol.POST, body)


async def comment_html(body: str) -> str:
    """A comment's sanitized HTML, rendered off the event loop; `TooComplex` if refused."""
    return await _render(protocol.COMMENT, body)


@atexit.register
def shutdown() -> None:
    """Kill the render processes and stop the threads (registered to run at exit)."""
    global _executor
    with _executor_lock:
        if _executor is not None:
            _executor.shutdown(wait=False, cancel_futures=True)
            _executor = None
    for process in list(_running):
        process.kill()
