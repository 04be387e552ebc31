"""Login sessions: what the cookies carry, how long they live, and how they end."""

from __future__ import annotations

from quart import Quart, Response
from quart_auth import authenticated_client
from sqlalchemy.ext.asyncio import AsyncSession

from service import create_app
from service.config import load_config

from .fixtures import Client, Csrf, Login, MakeUser, Submit


def set_cookie(response: Response, name: str) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    return header


async def greeting(client: Client) -> str:
    return await (await client.get("/")).get_data(as_text=True)


async def test_cookie_names_user_and_session_generation(
    app: Quart, client: Client, make_user: MakeUser, login: Login
) -> None:
    john = await make_user("john")
    response = await login(client, "john@flasky.dev")
    token = set_cookie(response, "flasky_auth").split(";")[0].split("=", 1)[1]
    assert app.extensions["QUART_AUTH"][0].load_token(token, app=app) == f"{john.id}:0"


async def test_plain_login_cookie_ends_with_the_browser(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    await make_user("john")
    cookie = set_cookie(await login(client, "john@flasky.dev"), "flasky_auth")
    assert "Max-Age" not in cookie
    assert "Expires" not in cookie


async def test_remember_me_lasts_thirty_days(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    await make_user("john")
    cookie = set_cookie(await login(client, "john@flasky.dev", remember=True), "flasky_auth")
    assert "Max-Age=2592000" in cookie


async def test_cookies_are_http_only_and_same_site_lax(
    client: Client, make_user: MakeUser, login: Login
) -> None:
    await make_user("john")
    response = await login(client, "john@flasky.dev")
    for name in ("flasky_auth", "flasky_session"):
        cookie = set_cookie(response, name)
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie


async def test_cookies_are_secure_when_configured(
    database_url: str, make_user: MakeUser, login: Login
) -> None:
    await make_user("john")
    secure_app = create_app(load_config("testing", database_url=database_url, cookie_secure=True))
    async with secure_app.test_app():
        response = await login(secure_app.test_client(), "john@flasky.dev")
    for name in ("flasky_auth", "flasky_session"):
        assert "; Secure" in set_cookie(response, name)


async def test_login_starts_a_fresh_session(
    client: Client, make_user: MakeUser, login: Login, csrf: Csrf
) -> None:
    await make_user("john")
    token_before_login = await csrf(client)
    await login(client, "john@flasky.dev")
    response = await client.post("/auth/logout", form={"csrf_token": token_before_login})
    assert response.status_code == 400


async def test_logout_clears_the_session(
    client: Client, make_user: MakeUser, login: Login, csrf: Csrf
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev")
    token = await csrf(client, "/")
    await client.post("/auth/logout", form={"csrf_token": token})
    response = await client.post("/auth/logout", form={"csrf_token": token})
    assert response.status_code == 400


async def test_logout_everywhere_ends_every_session(
    app: Quart, client: Client, make_user: MakeUser, login: Login, csrf: Csrf
) -> None:
    await make_user("john")
    other_browser = app.test_client()
    await login(other_browser, "john@flasky.dev")
    await login(client, "john@flasky.dev")
    response = await client.post(
        "/auth/logout-everywhere",
        form={"csrf_token": await csrf(client, "/")},
        follow_redirects=True,
    )
    html = await response.get_data(as_text=True)
    assert "You have been logged out of every browser and device." in html
    assert "Hello, Stranger!" in html
    assert "Hello, Stranger!" in await greeting(other_browser)


async def test_logout_everywhere_needs_a_login(client: Client, csrf: Csrf) -> None:
    response = await client.post("/auth/logout-everywhere", form={"csrf_token": await csrf(client)})
    assert response.location.startswith("/auth/login")


async def test_cookie_of_an_ended_session_is_refused_and_deleted(
    client: Client, make_user: MakeUser, db: AsyncSession
) -> None:
    john = await make_user("john")
    async with authenticated_client(client, john.session_id):
        john.end_all_sessions()
        await db.commit()
        response = await client.get("/")
        assert "Hello, Stranger!" in await response.get_data(as_text=True)
        assert "Expires=Thu, 01 Jan 1970" in set_cookie(response, "flasky_auth")


async def test_cookie_with_a_bare_user_id_is_refused(client: Client, make_user: MakeUser) -> None:
    john = await make_user("john")
    async with authenticated_client(client, str(john.id)):
        assert "Hello, Stranger!" in await greeting(client)


async def test_password_change_keeps_a_remembered_login_remembered(
    client: Client, make_user: MakeUser, login: Login, submit: Submit
) -> None:
    await make_user("john")
    await login(client, "john@flasky.dev", remember=True)
    form = {"old_password": "cat-password", "password": "new-password", "password2": "new-password"}
    response = await submit(client, "/auth/change-password", form)
    assert "Max-Age=2592000" in set_cookie(response, "flasky_auth")


def test_login_cookies_read_as_quart_auth_signs_them_and_the_other_way_round() -> None:
    """The app makes quart-auth's serializer once (service.identity): same tokens, old keys too."""
    from quart_auth.extension import _AuthSerializer

    from service.identity import _login_cookie_serializer

    salt = "quart auth salt"
    ours = _login_cookie_serializer(["old key", "new key"], salt)
    assert ours.loads(_AuthSerializer("new key", salt).dumps("7:1")) == "7:1"
    assert ours.loads(_AuthSerializer("old key", salt).dumps("7:1")) == "7:1"
    assert _AuthSerializer(["new key"], salt).loads(ours.dumps("7:1")) == "7:1"
    assert _login_cookie_serializer(["old key", "new key"], salt) is ours
