"""Security headers, cookies and the CSRF check that guards every form."""

from __future__ import annotations

from quart import Quart
from quart.testing import QuartClient


async def test_every_response_has_the_security_headers(client: QuartClient) -> None:
    response = await client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


async def test_pages_load_nothing_from_other_hosts(client: QuartClient) -> None:
    html = await (await client.get("/")).get_data(as_text=True)
    assert "http://" not in html and "https://" not in html and 'src="//' not in html


async def test_vendored_bootstrap_is_served(client: QuartClient) -> None:
    css = await client.get("/static/vendor/bootstrap.min.css")
    js = await client.get("/static/vendor/bootstrap.bundle.min.js")
    assert css.status_code == 200 and b"Bootstrap" in await css.get_data()
    assert js.status_code == 200


def _echo_route(app: Quart) -> None:
    @app.route("/echo", methods=["POST"])
    async def echo() -> str:
        return "changed"


async def test_post_without_csrf_token_is_refused(app: Quart, client: QuartClient) -> None:
    _echo_route(app)
    response = await client.post("/echo", form={"x": "1"})
    assert response.status_code == 400
    assert "CSRF token missing." in await response.get_data(as_text=True)


async def test_post_with_forged_csrf_token_is_refused(app: Quart, client: QuartClient) -> None:
    _echo_route(app)
    response = await client.post("/echo", form={"csrf_token": "forged"})
    assert response.status_code == 400
    assert "CSRF failed." in await response.get_data(as_text=True)


async def test_csrf_token_of_another_browser_is_refused(
    app: Quart,
    client: QuartClient,
    csrf,  # type: ignore[no-untyped-def]
) -> None:
    _echo_route(app)
    other_browser_token = await csrf(app.test_client())
    await client.get("/")
    response = await client.post("/echo", form={"csrf_token": other_browser_token})
    assert response.status_code == 400


async def test_post_with_valid_csrf_token_passes(app: Quart, client: QuartClient, csrf) -> None:  # type: ignore[no-untyped-def]
    _echo_route(app)
    token = await csrf(client)
    response = await client.post("/echo", form={"csrf_token": token})
    assert response.status_code == 200
    header = await client.post("/echo", headers={"X-CSRFToken": token})
    assert header.status_code == 200


async def test_session_cookie_flags(app: Quart, client: QuartClient, csrf) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/auth/login")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
