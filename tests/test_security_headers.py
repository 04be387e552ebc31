"""Security headers and cookie flags on every response; the CSRF check is in test_csrf.py."""

from __future__ import annotations

from .fixtures import Client


async def test_every_response_has_the_security_headers(client: Client) -> None:
    response = await client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


async def test_pages_load_nothing_from_other_hosts(client: Client) -> None:
    html = await (await client.get("/")).get_data(as_text=True)
    assert "http://" not in html and "https://" not in html and 'src="//' not in html


async def test_vendored_bootstrap_is_served(client: Client) -> None:
    css = await client.get("/static/vendor/bootstrap.min.css")
    js = await client.get("/static/vendor/bootstrap.bundle.min.js")
    assert css.status_code == 200 and b"Bootstrap" in await css.get_data()
    assert js.status_code == 200


async def test_session_cookie_flags(client: Client) -> None:
    response = await client.get("/auth/login")
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
