"""The production path: hypercorn with two workers, production configuration, real sockets."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from .server import ROOT, LiveServer

pytestmark = pytest.mark.server


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10.0) as client:
        yield client


async def test_health_check_answers(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_index_page_renders(http: httpx.AsyncClient) -> None:
    response = await http.get("/")
    assert response.status_code == 200
    assert "Hello, Stranger!" in response.text


async def test_pages_carry_security_headers(http: httpx.AsyncClient) -> None:
    headers = (await http.get("/")).headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]


async def test_session_cookie_is_http_only_and_lax(http: httpx.AsyncClient) -> None:
    response = await http.get("/auth/login")
    cookie = response.headers["Set-Cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie


async def test_unknown_url_gives_json_404_to_json_clients(http: httpx.AsyncClient) -> None:
    response = await http.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


async def test_unknown_url_gives_html_404_to_browsers(http: httpx.AsyncClient) -> None:
    response = await http.get("/no/such/page", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "Page Not Found" in response.text


async def test_form_post_without_csrf_token_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post("/auth/login", data={"email": "a@flasky.dev", "password": "x"})
    assert response.status_code == 400


async def test_vendored_bootstrap_is_served(http: httpx.AsyncClient) -> None:
    response = await http.get("/static/vendor/bootstrap.min.css")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")


def test_production_refuses_to_start_without_secret_key() -> None:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DATABASE_URL", "FLASKY_CONFIG"}
    }
    environment["FLASKY_CONFIG"] = "production"
    result = subprocess.run(
        [sys.executable, "-c", "import service.asgi"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_served_app_leaves_its_start_up_objects_out_of_garbage_collection(
    tmp_path: Path,
) -> None:
    # In a process of its own: freezing is for a worker, not for the suite's apps.
    script = """
import asyncio, gc
from service.asgi import app
async def main():
    before = gc.get_freeze_count()
    await app.startup()
    print(before, gc.get_freeze_count())
    await app.shutdown()
asyncio.run(main())
"""
    environment = {
        **{key: value for key, value in os.environ.items() if key != "FLASKY_CONFIG"},
        "DATABASE_URL": f"sqlite:///{tmp_path}/frozen.sqlite",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    before, after = (int(count) for count in result.stdout.split())
    assert before == 0
    assert after > 50_000
