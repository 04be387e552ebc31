"""Permission checks: the decorators, and what templates show for each role."""

from __future__ import annotations

import pytest
from quart import Quart

from service.decorators import admin_required, permission_required
from service.models import Permission

from .fixtures import Client, MakeUser, SignedIn


@pytest.fixture
def guarded_app(app: Quart) -> Quart:
    """The app plus two pages: one for moderators, one for administrators."""

    @app.route("/for-moderators")
    @permission_required(Permission.MODERATE)
    async def for_moderators() -> str:
        return "moderators welcome"

    @app.route("/for-admins")
    @admin_required
    async def for_admins() -> str:
        return "admins welcome"

    return app


async def test_permission_required_sends_strangers_to_log_in(
    guarded_app: Quart, client: Client
) -> None:
    response = await client.get("/for-moderators")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/for-moderators"


async def test_permission_required_refuses_users_without_it(
    guarded_app: Quart, client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("john")):
        response = await client.get("/for-moderators")
    assert response.status_code == 403
    assert "Forbidden" in await response.get_data(as_text=True)


async def test_permission_required_admits_users_with_it(
    guarded_app: Quart, client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("mod", role="Moderator")):
        response = await client.get("/for-moderators")
    assert response.status_code == 200
    assert await response.get_data(as_text=True) == "moderators welcome"


async def test_refusal_is_json_for_json_clients(
    guarded_app: Quart, client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("john")):
        response = await client.get("/for-moderators", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden"}


async def test_admin_required_refuses_moderators(
    guarded_app: Quart, client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("mod", role="Moderator")):
        assert (await client.get("/for-admins")).status_code == 403


async def test_admin_required_admits_administrators(
    guarded_app: Quart, client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("admin", role="Administrator")):
        response = await client.get("/for-admins")
    assert response.status_code == 200


async def test_navbar_offers_moderation_to_moderators_only(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("mod", role="Moderator")):
        assert "Moderate Comments" in await (await client.get("/")).get_data(as_text=True)
    async with signed_in(client, await make_user("john")):
        assert "Moderate Comments" not in await (await client.get("/")).get_data(as_text=True)
