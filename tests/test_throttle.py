"""Login throttling per account and client address, with its state in the database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from quart import Quart, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service import throttle
from service.models import LoginFailure, utcnow

from .fixtures import Client, Csrf, MakeUser

HOME = ("127.0.0.1", 40000)
ELSEWHERE = ("198.51.100.7", 40000)


async def attempt(
    client: Client,
    csrf: Csrf,
    email: str = "john@flasky.dev",
    password: str = "dog-password",
    address: tuple[str, int] = HOME,
) -> Response:
    form = {"email": email, "password": password, "csrf_token": await csrf(client)}
    return await client.post("/auth/login", form=form, scope_base={"client": address})


async def fail(client: Client, csrf: Csrf, times: int, **kwargs: Any) -> None:
    for _ in range(times):
        response = await attempt(client, csrf, **kwargs)
        assert response.status_code == 200


async def test_sixth_attempt_is_refused_even_with_the_right_password(
    client: Client, make_user: MakeUser, csrf: Csrf
) -> None:
    await make_user("john")
    await fail(client, csrf, 5)
    response = await attempt(client, csrf, password="cat-password")
    assert response.status_code == 429
    assert "Too many failed login attempts" in await response.get_data(as_text=True)
    assert response.headers["Retry-After"] == "900"
    assert "Hello, Stranger!" in await (await client.get("/")).get_data(as_text=True)


async def test_five_failures_still_allow_the_right_password(
    client: Client, make_user: MakeUser, csrf: Csrf
) -> None:
    await make_user("john")
    await fail(client, csrf, 4)
    response = await attempt(client, csrf, password="cat-password")
    assert response.status_code == 302


async def test_other_account_is_unaffected(client: Client, make_user: MakeUser, csrf: Csrf) -> None:
    await make_user("john")
    await make_user("susan")
    await fail(client, csrf, 5)
    response = await attempt(client, csrf, email="susan@flasky.dev", password="cat-password")
    assert response.status_code == 302


async def test_same_account_from_another_address_is_unaffected(
    client: Client, make_user: MakeUser, csrf: Csrf
) -> None:
    await make_user("john")
    await fail(client, csrf, 5)
    response = await attempt(client, csrf, password="cat-password", address=ELSEWHERE)
    assert response.status_code == 302


async def test_lockout_ignores_the_case_of_the_address(
    client: Client, make_user: MakeUser, csrf: Csrf
) -> None:
    await make_user("john")
    await fail(client, csrf, 5, email="JOHN@flasky.dev")
    response = await attempt(client, csrf, password="cat-password")
    assert response.status_code == 429


async def test_unknown_account_is_throttled_too(client: Client, csrf: Csrf) -> None:
    await fail(client, csrf, 5, email="nobody@flasky.dev")
    response = await attempt(client, csrf, email="nobody@flasky.dev")
    assert response.status_code == 429


async def test_success_forgets_earlier_failures(
    client: Client, make_user: MakeUser, csrf: Csrf
) -> None:
    await make_user("john")
    await fail(client, csrf, 4)
    await attempt(client, csrf, password="cat-password")
    await fail(client, csrf, 4)
    response = await attempt(client, csrf, password="cat-password")
    assert response.status_code == 302


async def test_failures_recorded_by_any_worker_count(
    client: Client, make_user: MakeUser, csrf: Csrf, db: AsyncSession
) -> None:
    await make_user("john")
    db.add_all(LoginFailure(email="john@flasky.dev", address=HOME[0]) for _ in range(5))
    await db.commit()
    response = await attempt(client, csrf, password="cat-password")
    assert response.status_code == 429


async def test_failures_older_than_the_window_do_not_count(
    client: Client, make_user: MakeUser, csrf: Csrf, db: AsyncSession
) -> None:
    await make_user("john")
    long_ago = utcnow() - timedelta(seconds=901)
    db.add_all(
        LoginFailure(email="john@flasky.dev", address=HOME[0], timestamp=long_ago) for _ in range(5)
    )
    await db.commit()
    response = await attempt(client, csrf, password="cat-password")
    assert response.status_code == 302


async def test_a_failed_attempt_prunes_expired_rows(app: Quart, db: AsyncSession) -> None:
    config = app.extensions["flasky_config"]
    long_ago = utcnow() - timedelta(seconds=config.login_window + 1)
    db.add(LoginFailure(email="old@flasky.dev", address="192.0.2.1", timestamp=long_ago))
    await db.commit()
    await throttle.reserve_attempt(db, config, "john@flasky.dev", "192.0.2.2")
    await throttle.attempt_failed(db, config)
    rows = (await db.scalars(select(LoginFailure.email))).all()
    assert rows == ["john@flasky.dev"]


async def test_no_row_is_written_for_a_successful_login(
    client: Client, make_user: MakeUser, csrf: Csrf, db: AsyncSession
) -> None:
    await make_user("john")
    await attempt(client, csrf, password="cat-password")
    assert await db.scalar(select(func.count()).select_from(LoginFailure)) == 0


async def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_the_limit(
    client: Client, make_user: MakeUser, csrf: Csrf
) -> None:
    await make_user("john")
    token = await csrf(client)
    form = {"email": "john@flasky.dev", "password": "dog-password", "csrf_token": token}
    responses = await asyncio.gather(
        *(client.post("/auth/login", form=form, scope_base={"client": HOME}) for _ in range(20))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(200) <= 5, statuses
    assert statuses.count(429) >= 15, statuses
