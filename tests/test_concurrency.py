"""Many clients writing at once through two hypercorn workers lose nothing and fail nothing.

Runs on the live server's database: SQLite (WAL, busy timeout) by default,
PostgreSQL when `TEST_DATABASE_URL` is set.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

import httpx
import pytest

from .load import KINDS, Ledger, api_token, api_write, form_write, log_in, server_log_problems
from .load import stored_rows as stored_rows_of
from .server import Account, LiveServer, add_post, add_user, run_sync

pytestmark = pytest.mark.server

API_CLIENTS = 200
API_WRITES_EACH = 3
FORM_CLIENTS = 50
FORM_WRITES_EACH = 4


@dataclass(frozen=True)
class Writers:
    """The accounts the clients write as, and the post they comment on."""

    accounts: list[Account]
    post_id: int


@pytest.fixture(scope="module")
def writers(live_server: LiveServer) -> Writers:
    async def arrange() -> Writers:
        accounts = [await add_user(live_server.database_url, f"writer{n}") for n in range(10)]
        post_id = await add_post(live_server.database_url, accounts[0], "Comment here")
        return Writers(accounts, post_id)

    return run_sync(arrange())


def unique_marker() -> str:
    return f"load-{secrets.token_hex(4)}"


async def test_concurrent_api_writes_are_each_stored_once(
    live_server: LiveServer, writers: Writers
) -> None:
    marker, ledger = unique_marker(), Ledger()
    limits = httpx.Limits(max_connections=API_CLIENTS)
    async with httpx.AsyncClient(base_url=live_server.url, limits=limits, timeout=60) as http:
        tokens = [await api_token(http, account) for account in writers.accounts]

        async def client(n: int) -> None:
            for i in range(API_WRITES_EACH):
                kind = KINDS[(n + i) % 2]
                body = f"{marker} api {n}.{i}"
                await api_write(http, tokens[n % len(tokens)], kind, writers.post_id, body, ledger)

        await asyncio.gather(*(client(n) for n in range(API_CLIENTS)))

    assert ledger.statuses == {201: API_CLIENTS * API_WRITES_EACH}, ledger
    assert await stored_rows_of(live_server.database_url, marker) == ledger.expected_rows()
    assert server_log_problems(live_server.log()) == []


async def test_concurrent_form_writes_are_each_stored_once(
    live_server: LiveServer, writers: Writers
) -> None:
    marker, ledger = unique_marker(), Ledger()

    async def browser(n: int) -> None:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as http:
            csrf = await log_in(http, writers.accounts[n % len(writers.accounts)])
            for i in range(FORM_WRITES_EACH):
                kind = KINDS[(n + i) % 2]
                body = f"{marker} form {n}.{i}"
                await form_write(http, csrf, kind, writers.post_id, body, ledger)

    await asyncio.gather(*(browser(n) for n in range(FORM_CLIENTS)))

    assert ledger.statuses == {302: FORM_CLIENTS * FORM_WRITES_EACH}, ledger
    assert await stored_rows_of(live_server.database_url, marker) == ledger.expected_rows()
    assert server_log_problems(live_server.log()) == []
