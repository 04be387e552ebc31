"""How a worker takes its share of new connections: one per turn of its event loop.

hypercorn's workers share one listening socket, and asyncio's event loop,
when that socket is readable, accepts every connection waiting (up to 100)
before it does anything else. Clients that open many keep-alive
connections at once — nginx's upstream keepalive pool after a reload, a
load tester — then all land on whichever worker woke first: measured with
wrk's 32 connections, one worker at 100% of the CPU, the other idle, and
the throughput of one core. Accepting one connection per turn of the loop
makes the workers take turns: each new connection goes to a worker whose
loop is free to take it, and a worker busy with a request leaves it to
another. The cost is a turn of the loop per connection, nothing per request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Quart


def accept_one_per_turn(loop: asyncio.AbstractEventLoop) -> bool:
    """Make `loop` accept one waiting connection per readiness of a listening socket.

    Applies to asyncio's selector event loop, the one hypercorn runs by
    default; other loops (uvloop) are left as they are: False.
    """
    accept = getattr(loop, "_accept_connection", None)
    if accept is None or getattr(accept, "one_per_turn", False):
        return accept is not None

    def accept_one(
        protocol_factory: Any,
        sock: Any,
        sslcontext: Any = None,
        server: Any = None,
        _backlog: int = 100,
        *timeouts: Any,
    ) -> None:
        # asyncio's own accept, told that at most one connection is waiting.
        accept(protocol_factory, sock, sslcontext, server, 1, *timeouts)

    accept_one.one_per_turn = True  # type: ignore[attr-defined]
    # An attribute of the loop object: asyncio registers its listening
    # sockets' reader as `self._accept_connection` when a server starts,
    # which is after the app's `before_serving` hooks have run.
    loop._accept_connection = accept_one  # type: ignore[attr-defined]
    return True


def init_app(app: Quart) -> None:
    @app.before_serving
    async def _share_connections() -> None:
        accept_one_per_turn(asyncio.get_running_loop())
