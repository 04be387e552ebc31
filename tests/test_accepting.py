"""A worker takes one waiting connection per turn of its event loop (service.accepting)."""

from __future__ import annotations

import asyncio
import socket
from contextlib import ExitStack

from quart import Quart

from service.accepting import accept_one_per_turn


class _Counted(asyncio.Protocol):
    def __init__(self, made: list[asyncio.BaseTransport]) -> None:
        self.made = made

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.made.append(transport)


def _accepted_in_one_turn(waiting: int, shared: bool) -> int:
    """How many of `waiting` connections one readiness of the listening socket accepts."""
    loop = asyncio.new_event_loop()
    made: list[asyncio.BaseTransport] = []
    try:
        if shared:
            assert accept_one_per_turn(loop)
        with ExitStack() as stack:
            listener = stack.enter_context(socket.create_server(("127.0.0.1", 0)))
            listener.setblocking(False)
            for _ in range(waiting):
                stack.enter_context(socket.create_connection(listener.getsockname()))
            # What the loop calls when the listening socket is readable.
            loop._accept_connection(lambda: _Counted(made), listener, None, None, 100)  # type: ignore[attr-defined]
            loop.run_until_complete(asyncio.sleep(0.05))
            for transport in made:
                transport.close()
            loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    return len(made)


def test_asyncio_alone_takes_every_waiting_connection_at_once() -> None:
    assert _accepted_in_one_turn(3, shared=False) == 3


def test_a_shared_loop_takes_one_waiting_connection_per_turn() -> None:
    assert _accepted_in_one_turn(3, shared=True) == 1


def test_sharing_twice_changes_nothing() -> None:
    loop = asyncio.new_event_loop()
    try:
        assert accept_one_per_turn(loop)
        installed = loop._accept_connection  # type: ignore[attr-defined]
        assert accept_one_per_turn(loop)
        assert loop._accept_connection is installed  # type: ignore[attr-defined]
    finally:
        loop.close()


async def test_a_serving_app_shares_its_connections(app: Quart) -> None:
    # The `app` fixture serves the app (`test_app()`), as hypercorn does.
    accept = asyncio.get_running_loop()._accept_connection  # type: ignore[attr-defined]
    assert getattr(accept, "one_per_turn", False)
