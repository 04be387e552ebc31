"""Who may call the API: Basic auth with e-mail and password or with a token; nothing else.

Mirrors the original Flasky API tests (404, no auth, bad auth, bad token,
token auth, anonymous, unconfirmed account) plus what this version adds.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.api import authentication
from service.models import ApiToken, Permission, Role, User, utcnow

from .blog import add_comment, add_post
from .fixtures import ApiAuth, Client, CountStatements, MakeUser

INVALID = {"error": "unauthorized", "message": "Invalid credentials"}


async def new_token(client: Client, api_auth: ApiAuth, email: str = "john@flasky.dev") -> str:
    response = await client.post("/api/v1/tokens/", headers=api_auth(email, "cat-password"))
    assert response.status_code == 200
    token: str = (await response.get_json())["token"]
    return token


async def test_unknown_url_is_json_404(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    response = await client.get(
        "/api/v1/wrong/url", headers=api_auth("john@flasky.dev", "cat-password")
    )
    assert response.status_code == 404
    assert (await response.get_json())["error"] == "not found"


async def test_no_credentials_is_401_with_basic_challenge(client: Client) -> None:
    response = await client.get("/api/v1/posts/")
    assert response.status_code == 401
    assert await response.get_json() == INVALID
    assert response.headers["WWW-Authenticate"].lower().startswith("basic")


async def test_wrong_password_is_401(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    response = await client.get("/api/v1/posts/", headers=api_auth("john@flasky.dev", "dog"))
    assert response.status_code == 401
    assert await response.get_json() == INVALID


async def test_unknown_email_is_401(client: Client, api_auth: ApiAuth) -> None:
    response = await client.get("/api/v1/posts/", headers=api_auth("nobody@flasky.dev", "cat"))
    assert response.status_code == 401
    assert await response.get_json() == INVALID


async def test_bad_token_is_401(client: Client, make_user: MakeUser, api_auth: ApiAuth) -> None:
    await make_user("john")
    response = await client.get("/api/v1/posts/", headers=api_auth("bad-token"))
    assert response.status_code == 401
    assert await response.get_json() == INVALID


async def test_anonymous_empty_user_name_is_401(client: Client, api_auth: ApiAuth) -> None:
    response = await client.get("/api/v1/posts/", headers=api_auth(""))
    assert response.status_code == 401
    assert await response.get_json() == INVALID


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Basic",
    ],
)
async def test_malformed_authorization_header_is_401(client: Client, header: str) -> None:
    response = await client.get("/api/v1/posts/", headers={"Authorization": header})
    assert response.status_code == 401
    assert await response.get_json() == INVALID


async def test_email_and_password_authenticate(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    response = await client.get(
        "/api/v1/posts/", headers=api_auth("John@Flasky.dev", "cat-password")
    )
    assert response.status_code == 200


async def test_token_authenticates(client: Client, make_user: MakeUser, api_auth: ApiAuth) -> None:
    await make_user("john")
    token = await new_token(client, api_auth)
    response = await client.get("/api/v1/posts/", headers=api_auth(token))
    assert response.status_code == 200


async def test_a_token_carries_its_users_rights(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    # What a token may do is its user's role's, read with the token.
    db.add(Role(name="Reader", permissions=int(Permission.FOLLOW | Permission.COMMENT)))
    await db.commit()
    john = await make_user("john")
    await make_user("reader", role="Reader")
    await make_user("admin", role="Administrator")
    post = await add_post(db, john, "post")
    await add_comment(db, post, john, "hidden", disabled=True)
    reader = api_auth(await new_token(client, api_auth, "reader@flasky.dev"))
    admin = api_auth(await new_token(client, api_auth, "admin@flasky.dev"))
    owner = api_auth(await new_token(client, api_auth))

    refused = await client.post("/api/v1/posts/", json={"body": "hi"}, headers=reader)
    assert refused.status_code == 403
    seen = {"reader": reader, "admin": admin, "owner": owner}
    counts = {
        name: (await (await client.get(f"/api/v1/posts/{post.id}", headers=h)).get_json())[
            "comment_count"
        ]
        for name, h in seen.items()
    }
    assert counts == {"reader": 0, "admin": 1, "owner": 0}
    edited = await client.put(f"/api/v1/posts/{post.id}", json={"body": "edited"}, headers=admin)
    assert edited.status_code == 200
    mine = await client.put(f"/api/v1/posts/{post.id}", json={"body": "mine"}, headers=owner)
    assert mine.status_code == 200
    theirs = await client.put(f"/api/v1/posts/{post.id}", json={"body": "no"}, headers=reader)
    assert theirs.status_code == 403


async def test_token_auth_runs_one_query_and_no_password_check(
    client: Client,
    make_user: MakeUser,
    api_auth: ApiAuth,
    count_statements: CountStatements,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await make_user("john")
    token = await new_token(client, api_auth)

    async def no_argon2(*_args: object) -> None:
        raise AssertionError("token auth must not verify a password")

    monkeypatch.setattr(authentication, "authenticate", no_argon2)
    with count_statements() as statements:
        response = await client.get("/api/v1/users/999", headers=api_auth(token))
    assert response.status_code == 404
    # One SELECT for the token (with its user and role), one for the missing user.
    assert len(statements) == 2


async def test_expired_token_is_401(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    await make_user("john")
    token = await new_token(client, api_auth)
    row = await db.scalar(select(ApiToken))
    assert row is not None
    row.expires_at = utcnow() - timedelta(seconds=1)
    await db.commit()
    response = await client.get("/api/v1/posts/", headers=api_auth(token))
    assert response.status_code == 401
    assert await response.get_json() == INVALID


async def test_deleted_token_rows_stop_working(
    client: Client, make_user: MakeUser, api_auth: ApiAuth, db: AsyncSession
) -> None:
    # What a password change does: it deletes all of the user's tokens.
    user = await make_user("john")
    token = await new_token(client, api_auth)
    await db.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    await db.commit()
    response = await client.get("/api/v1/posts/", headers=api_auth(token))
    assert response.status_code == 401


async def test_unconfirmed_account_is_403(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john", confirmed=False)
    response = await client.get(
        "/api/v1/posts/", headers=api_auth("john@flasky.dev", "cat-password")
    )
    assert response.status_code == 403
    assert await response.get_json() == {"error": "forbidden", "message": "Unconfirmed account"}


async def test_login_cookie_is_not_accepted(
    client: Client,
    make_user: MakeUser,
    signed_in: Callable[[Client, User], AbstractAsyncContextManager[None]],
) -> None:
    user = await make_user("john")
    async with signed_in(client, user):
        response = await client.get("/api/v1/posts/")
    assert response.status_code == 401


async def test_writes_need_no_csrf_token(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    response = await client.post(
        "/api/v1/posts/",
        json={"body": "no CSRF token needed"},
        headers=api_auth("john@flasky.dev", "cat-password"),
    )
    assert response.status_code == 201


async def test_repeated_wrong_passwords_lock_the_account_out(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    for _ in range(5):
        response = await client.get("/api/v1/posts/", headers=api_auth("john@flasky.dev", "dog"))
        assert response.status_code == 401
    response = await client.get(
        "/api/v1/posts/", headers=api_auth("john@flasky.dev", "cat-password")
    )
    assert response.status_code == 429
    assert (await response.get_json())["error"] == "too many requests"
    assert int(response.headers["Retry-After"]) > 0


async def test_tokens_work_during_a_password_lockout(
    client: Client, make_user: MakeUser, api_auth: ApiAuth
) -> None:
    await make_user("john")
    token = await new_token(client, api_auth)
    for _ in range(5):
        await client.get("/api/v1/posts/", headers=api_auth("john@flasky.dev", "dog"))
    response = await client.get("/api/v1/posts/", headers=api_auth(token))
    assert response.status_code == 200
