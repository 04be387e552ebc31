"""The message limit under the production server: two hypercorn workers share one count."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from service.limits import MESSAGES_PER_WINDOW
from service.models import Message

from .load import log_in
from .server import LiveServer, add_user, engine_for

pytestmark = pytest.mark.server

BURST = MESSAGES_PER_WINDOW + 10


async def _stored_messages(database_url: str) -> int:
    engine = engine_for(database_url)
    try:
        async with engine.connect() as connection:
            return (await connection.scalar(select(func.count()).select_from(Message))) or 0
    finally:
        await engine.dispose()


async def test_a_burst_over_both_workers_sends_no_more_than_the_limit(
    live_server: LiveServer,
) -> None:
    # Each request of the burst opens its own connection, and the kernel hands
    # connections to either worker: a limit kept in one process's memory would
    # let each worker accept its own 20.
    sender = await add_user(live_server.database_url, "burst-sender")
    await add_user(live_server.database_url, "burst-recipient")
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30.0, limits=limits) as client:
        csrf = await log_in(client, sender)
        responses = await asyncio.gather(
            *(
                client.post(
                    "/messages/burst-recipient", data={"body": f"message {n}", "csrf_token": csrf}
                )
                for n in range(BURST)
            )
        )
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(302) == MESSAGES_PER_WINDOW, statuses
    assert statuses.count(429) == BURST - MESSAGES_PER_WINDOW, statuses
    refused = next(response for response in responses if response.status_code == 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert await _stored_messages(live_server.database_url) == MESSAGES_PER_WINDOW
