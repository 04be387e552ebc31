"""Logging in and out through the forms, and where a login may redirect to."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession

from service.auth.redirects import safe_next

from .fixtures import Client, Csrf, Login, MakeUser

OPEN_REDIRECTS = [
    "//evil.example",
    "//evil.example/path",
    "///evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "https://evil.example",
    "http://evil.example/auth/login",
    "https:evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " //evil.example",
    "evil.example",
]


async def greeting(client: Client) -> str:
    return await (await client.get("/")).get_data(as_text=True)


async def test_login_page_has_the_form(client: Client) -> None:
    html = await (await client.get("/auth/login")).get_data(as_text=True)
    assert "<title>Flasky - Login</title>" in html
    assert "<h1>Login</h1>" in html
    for name in ("email", "password", "remember_me", "csrf_token"):
        assert f'name="{name}"' in html
    assert 'href="/auth/register"' in html
    assert 'href="/auth/reset"' in html


async def test_login_with_right_password(client: Client, make_user: MakeUser, login: Login) -> None:
    await make_user("john")
    response = await login(client, "john@flasky.dev")
    assert response.status_code == 302
    assert response.location == "/"
    assert "Hello, john!" in await greeting(client)


async def test_login_email_is_case_insensitive(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    await make_user("john")
    await login(client, " John@Flasky.DEV ")
    assert "Hello, john!" in await greeting(client)


async def test_login_upgrades_a_hash_made_with_old_parameters(
    client: Client, make_user: MakeUser, login: Login, db: AsyncSession
) -> None:
    old_hash = PasswordHasher(time_cost=2, memory_cost=8192).hash("cat-password")
    john = await make_user("john")
    john.password_hash = old_hash
    await db.commit()
    await login(client, "john@flasky.dev")
    await db.refresh(john)
    assert john.password_hash != old_hash
    assert john.password_hash is not None and "t=1" in john.password_hash
    assert "Hello, john!" in await greeting(client)


@pytest.mark.parametrize(
    ("email", "password"),
    [("john@flasky.dev", "dog-password"), ("nobody@flasky.dev", "cat-password")],
)
async def test_login_failure_says_the_same_for_both_causes(
    client: Client, make_user: MakeUser, login: Login, email: str, password: str
) -> None:
    await make_user("john")
    response = await login(client, email, password)
    assert response.status_code == 200
    assert "Invalid email or password." in await response.get_data(as_text=True)
    assert "Hello, Stranger!" in await greeting(client)


async def test_login_without_csrf_token_is_refused(client: Client, make_user: MakeUser) -> None:
    await make_user("john")
    await client.get("/auth/login")
    response = await client.post(
        "/auth/login", form={"email": "john@flasky.dev", "password": "cat-password"}
    )
    assert response.status_code == 400
    assert "Hello, Stranger!" in await greeting(client)


async def test_login_with_wrong_csrf_token_is_refused(
    client: Client, make_user: MakeUser, csrf: Csrf
) -> None:
    await make_user("john")
    other_browser_token = await csrf(client.app.test_client(), "/auth/login")
    await client.get("/auth/login")
    form = {"email": "john@flasky.dev", "password": "cat-password"}
    response = await client.post("/auth/login", form={**form, "csrf_token": other_browser_token})
    assert response.status_code == 400
    assert "Hello, Stranger!" in await greeting(client)


async def test_login_follows_a_same_site_next(
    client: Client, make_user: MakeUser, csrf: Csrf
) -> None:
    await make_user("john")
    form = {
        "email": "john@flasky.dev",
        "password": "cat-password",
        "csrf_token": await csrf(client),
    }
    response = await client.post(
        "/auth/login", form=form, query_string={"next": "/user/john?page=2"}
    )
    assert response.location == "/user/john?page=2"


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
async def test_login_refuses_to_redirect_off_site(
    client: Client, make_user: MakeUser, csrf: Csrf, target: str
) -> None:
    await make_user("john")
    form = {
        "email": "john@flasky.dev",
        "password": "cat-password",
        "csrf_token": await csrf(client),
    }
    response = await client.post("/auth/login", form=form, query_string={"next": target})
    assert response.status_code == 302
    assert response.location == "/"


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_safe_next_refuses_other_sites(target: str) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/", "/user/john", "/post/3?page=-1#comments", "/a//b"])
def test_safe_next_keeps_paths_on_this_site(target: str) -> None:
    assert safe_next(target) == target


async def test_login_required_page_sends_to_login_and_back(
    client: Client, make_user: MakeUser, csrf: Csrf
) -> None:
    await make_user("john")
    response = await client.get("/auth/change-password")
    assert response.status_code == 302
    assert response.location == "/auth/login?next=/auth/change-password"
    form = {
        "email": "john@flasky.dev",
        "password": "cat-password",
        "csrf_token": await csrf(client),
    }
    response = await client.post(response.location, form=form)
    assert response.location == "/auth/change-password"


async def test_unconfirmed_user_logs_in_and_is_asked_to_confirm(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    await make_user("susan", confirmed=False)
    await login(client, "susan@flasky.dev")
    response = await client.get("/")
    assert response.location == "/auth/unconfirmed"


async def test_navbar_of_logged_in_user_has_log_out_buttons(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    html = await greeting(client)
    assert 'action="/auth/logout"' in html
    assert 'action="/auth/logout-everywhere"' in html


async def test_logout_ends_the_login(
    client: Client, make_user: MakeUser, login: Login, csrf: Csrf
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    response = await client.post(
        "/auth/logout", form={"csrf_token": await csrf(client, "/")}, follow_redirects=True
    )
    html = await response.get_data(as_text=True)
    assert "You have been logged out." in html
    assert "Hello, Stranger!" in html


async def test_logout_without_csrf_token_is_refused(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    response = await client.post("/auth/logout")
    assert response.status_code == 400
    assert "Hello, john!" in await greeting(client)


@pytest.mark.parametrize("path", ["/auth/logout", "/auth/logout-everywhere"])
async def test_logout_by_get_is_not_allowed(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 405
