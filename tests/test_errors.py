"""Error pages: HTML for browsers, JSON for clients that ask for it."""

from quart import Quart
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db import get_session, write_transaction
from service.models import Post

from .fixtures import Client, MakeUser, SignedIn


async def test_404_json_for_json_clients(client: Client) -> None:
    response = await client.get("/nope", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert await response.get_json() == {"error": "not found"}


async def test_404_html_page_is_styled(client: Client) -> None:
    response = await client.get("/nope", headers={"Accept": "text/html"})
    assert response.status_code == 404
    html = await response.get_data(as_text=True)
    assert "Page Not Found" in html
    assert "/static/vendor/bootstrap.min.css" in html


async def test_browser_accept_header_gets_html(client: Client) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = await client.get("/nope", headers={"Accept": accept})
    assert response.content_type.startswith("text/html")


async def test_405_for_wrong_method(client: Client) -> None:
    response = await client.delete("/", headers={"Accept": "application/json"})
    assert response.status_code == 405
    assert (await response.get_json())["error"] == "method not allowed"


async def test_413_for_oversized_body(client: Client, app: Quart) -> None:
    @app.route("/upload", methods=["POST"])
    async def upload() -> str:
        return "stored"

    response = await client.post(
        "/upload",
        data=b"x" * (1024 * 1024 + 1),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert "Request Too Large" in await response.get_data(as_text=True)


async def test_unexpected_exception_gives_500_page(client: Client, app: Quart) -> None:
    @app.route("/boom")
    async def boom() -> str:
        raise RuntimeError("boom")

    response = await client.get("/boom")
    assert response.status_code == 500
    assert "Internal Server Error" in await response.get_data(as_text=True)
    json_response = await client.get("/boom", headers={"Accept": "application/json"})
    assert await json_response.get_json() == {"error": "internal server error"}


async def test_a_failed_write_gives_the_500_page_and_keeps_nothing_of_it(
    client: Client, app: Quart, make_user: MakeUser, signed_in: SignedIn, db: AsyncSession
) -> None:
    john = await make_user("john")

    @app.route("/half-written")
    async def half_written() -> str:
        session = get_session()
        async with write_transaction(session):
            session.add(Post(body="half", body_html="<p>half</p>", author_id=john.id))
            await session.flush()
            raise RuntimeError("boom")

    async with signed_in(client, john):
        response = await client.get("/half-written")
        html = await response.get_data(as_text=True)
        # The page of our own, with the reader still signed in: the rollback
        # left the signed-in user readable.
        assert response.status_code == 500
        assert "Internal Server Error" in html and 'href="/user/john"' in html
        assert (await client.get("/")).status_code == 200
    assert await db.scalar(select(func.count()).select_from(Post)) == 0
