"""The CSRF check that guards every form: a POST needs this browser session's token."""

from __future__ import annotations

from quart import Quart

from .fixtures import Client, Csrf


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
