"""The CSRF check that guards every form: a POST needs this browser session's token."""

from __future__ import annotations

from quart import Quart

from .conftest import CSRF_RE, csrf_token
from .fixtures import Client, Csrf, Login, MakeUser


def _echo_route(app: Quart) -> None:
    @app.route("/echo", methods=["POST"])
    async def echo() -> str:
        return "changed"


async def test_post_without_csrf_token_is_refused(app: Quart, client: Client) -> None:
    _echo_route(app)
    response = await client.post("/echo", form={"x": "1"})
    assert response.status_code == 400
    assert "CSRF token missing." in await response.get_data(as_text=True)


async def test_post_with_forged_csrf_token_is_refused(app: Quart, client: Client) -> None:
    _echo_route(app)
    response = await client.post("/echo", form={"csrf_token": "forged"})
    assert response.status_code == 400
    assert "CSRF failed." in await response.get_data(as_text=True)


async def test_csrf_token_of_another_browser_is_refused(
    app: Quart, client: Client, csrf: Csrf
) -> None:
    _echo_route(app)
    other_browser_token = await csrf(app.test_client())
    await client.get("/")
    response = await client.post("/echo", form={"csrf_token": other_browser_token})
    assert response.status_code == 400


async def test_post_with_valid_csrf_token_passes(app: Quart, client: Client, csrf: Csrf) -> None:
    _echo_route(app)
    token = await csrf(client)
    response = await client.post("/echo", form={"csrf_token": token})
    assert response.status_code == 200
    header = await client.post("/echo", headers={"X-CSRFToken": token})
    assert header.status_code == 200


async def test_a_login_gives_the_new_session_its_secret_at_once(
    app: Quart, client: Client, make_user: MakeUser, login: Login
) -> None:
    """The signed-in session comes with its CSRF secret: its pages set no cookie of their own."""
    _echo_route(app)
    user = await make_user("john")
    before = await csrf_token(client)
    response = await login(client, user.email)
    assert response.status_code == 302
    page = await client.get("/")
    assert page.headers.getlist("Set-Cookie") == []
    token = CSRF_RE.search(await page.get_data(as_text=True))
    assert token is not None
    assert (await client.post("/echo", form={"csrf_token": token.group(1)})).status_code == 200
    # The secret is new: a token of the session before the login is refused.
    assert (await client.post("/echo", form={"csrf_token": before})).status_code == 400
