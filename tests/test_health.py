"""`/healthz`: 200 while the database answers, 503 when it does not."""

import contextlib
from collections.abc import Callable

from service import create_app
from service.config import load_config
from service.models import User

from .conftest import free_port
from .fixtures import Client, MakeUser


async def test_healthy_when_database_answers(client: Client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}
    assert "no-store" in response.headers["Cache-Control"]


async def test_unavailable_when_database_is_unreachable() -> None:
    nobody_listens = f"postgresql+asyncpg://flasky@127.0.0.1:{free_port()}/flasky"
    app = create_app(load_config("testing", database_url=nobody_listens))
    async with app.test_app():
        response = await app.test_client().get("/healthz")
    assert response.status_code == 503
    assert await response.get_json() == {"status": "unavailable"}


async def test_unconfirmed_user_is_not_redirected(
    client: Client,
    make_user: MakeUser,
    signed_in: Callable[[Client, User], contextlib.AbstractAsyncContextManager[None]],
) -> None:
    user = await make_user("probe", confirmed=False)
    async with signed_in(client, user):
        response = await client.get("/healthz")
    assert response.status_code == 200


async def test_post_is_not_allowed(client: Client) -> None:
    response = await client.post("/healthz", headers={"Accept": "application/json"})
    assert response.status_code == 405
