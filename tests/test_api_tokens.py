"""API tokens: minted with a password only, stored hashed, revocable, one hour long."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import ApiToken, utcnow

from .fixtures import ApiAuth, Client, MakeUser

PASSWORD = ("john@flasky.dev", "cat-password")


async def test_password_gets_a_token(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    response = await client.post("/api/v1/tokens/", headers=api_auth(*PASSWORD))
    assert response.status_code == 200
    data = await response.get_json()
    assert set(data) == {"token", "expiration"}
    assert data["expiration"] == 3600
    assert len(data["token"]) >= 43
    assert response.headers["Cache-Control"] == "no-store"


async def test_token_is_stored_only_as_its_hash_for_an_hour(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    user = await make_user("john")
    response = await client.post("/api/v1/tokens/", headers=api_auth(*PASSWORD))
    token = (await response.get_json())["token"]
    row = await db.scalar(select(ApiToken))
    assert row is not None
    assert row.user_id == user.id
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    lifetime = row.expires_at - utcnow()
    assert timedelta(minutes=59) < lifetime <= timedelta(hours=1)


async def test_a_token_cannot_mint_a_token(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    response = await client.post("/api/v1/tokens/", headers=api_auth(*PASSWORD))
    token = (await response.get_json())["token"]
    response = await client.post("/api/v1/tokens/", headers=api_auth(token))
    assert response.status_code == 401
    assert await response.get_json() == {"error": "unauthorized", "message": "Invalid credentials"}


async def test_minting_prunes_expired_tokens(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    user = await make_user("john")
    db.add(ApiToken(token_hash="0" * 64, user_id=user.id, expires_at=utcnow() - timedelta(1)))
    await db.commit()
    await client.post("/api/v1/tokens/", headers=api_auth(*PASSWORD))
    assert await db.scalar(select(func.count()).select_from(ApiToken)) == 1
    assert await db.scalar(select(ApiToken.token_hash)) != "0" * 64


async def test_delete_revokes_the_token_used(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    first = await client.post("/api/v1/tokens/", headers=api_auth(*PASSWORD))
    second = await client.post("/api/v1/tokens/", headers=api_auth(*PASSWORD))
    revoked, kept = (await first.get_json())["token"], (await second.get_json())["token"]
    response = await client.delete("/api/v1/tokens/", headers=api_auth(revoked))
    assert response.status_code == 204
    assert (await client.get("/api/v1/posts/", headers=api_auth(revoked))).status_code == 401
    assert (await client.get("/api/v1/posts/", headers=api_auth(kept))).status_code == 200


async def test_delete_with_password_is_400(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    response = await client.delete("/api/v1/tokens/", headers=api_auth(*PASSWORD))
    assert response.status_code == 400
    data = await response.get_json()
    assert data["error"] == "bad request"
    assert "token" in data["message"]
