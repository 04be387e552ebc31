"""Text that is costly to render never stalls a worker, and never gets a 500.

A corpus of pathological inputs goes through every entry point that renders
Markdown (the post form, the edit form, the comment form, the preview, the
API's posts and comments) and the profile form; each answers 2xx/3xx or 4xx,
and a refused one stores nothing. Against a live server, a reader on another
connection is served while costly posts are rendered.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from quart import Quart
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service import render_pool
from service.limits import ABOUT_ME_MAX, COMMENT_BODY_MAX, POST_BODY_MAX
from service.markdown import (
    MAX_HTML_NESTING,
    TOO_COMPLEX,
    TooComplex,
    html_nesting,
    render_comment,
    render_post,
)
from service.models import Comment, Post, User

from .fixtures import ApiAuth, Client, Login, MakeUser, Submit
from .server import LiveServer, add_user, run_sync

# Each costs markdown-it or nh3 far more than its length suggests (sizes kept
# so that the whole file runs in seconds; the limits' own sizes are below).
CORPUS: dict[str, str] = {
    "unclosed divs": "<div>" * 20_000,
    "emphasis openers": "*a" * 5_000,
    "link openers": "[a](" * 5_000,
    "deep list": "- " * 10_000,
    "deep quotes": "> " * 10_000,
    "link chain": "[a]" * 5_000,
    "pipes table": "|a|b|\n|-|-|\n" + "|x|y|\n" * 2_000,
    "pipes only": ("|" * 40 + "\n") * 200,
    "backticks": "`" * 20_000,
    "backtick runs": "`a``" * 2_500,
    "bold tags": "<b>" * 5_000,
    "nested ul li": "<ul><li>" * 3_000,
    "brackets": "[" * 10_000,
    "underscores": "_a" * 5_000,
    "image openers": "![" * 5_000,
    "closing tags": "</b>" * 5_000,
    "nested emphasis": "*" * 5_000 + "a" + "*" * 5_000,
}
# The measured cases of the issue, at their sizes: longer than any field allows.
OVERSIZED: dict[str, str] = {
    "unclosed divs 500 KB": "<div>" * 100_000,
    "emphasis openers 400 KB": "*a" * 200_000,
    "link openers 400 KB": "[a](" * 100_000,
}


def comment_sized(body: str) -> str:
    return body[:COMMENT_BODY_MAX]


# --- the renderer's own bounds ---------------------------------------------


def test_html_nesting_counts_open_tags_and_ignores_void_and_closed_ones() -> None:
    assert html_nesting("<p><b>x</b></p>") == 2
    assert html_nesting("<div>" * 7) == 7
    assert html_nesting("<br><img src=x><hr/>" * 50) == 0
    assert html_nesting("<b></b>" * 500) == 1
    assert html_nesting("</b>" * 50 + "<i>") == 1


def test_html_nested_beyond_the_bound_is_refused_before_sanitizing() -> None:
    with pytest.raises(TooComplex, match=TOO_COMPLEX):
        render_post("<div>" * (MAX_HTML_NESTING + 1))
    with pytest.raises(TooComplex):
        render_comment("<b>" * (MAX_HTML_NESTING + 1))
    assert "x" in render_post("<div>" * MAX_HTML_NESTING + "x")


def test_deep_markdown_nesting_is_cut_by_markdown_it_not_refused() -> None:
    html = render_post("> " * 10_000 + "deep")
    assert html.count("<blockquote>") <= 20


async def test_the_pool_renders_what_the_renderer_renders() -> None:
    body = "# Title\n\n*em* [a](https://example.com)\n\n<script>x</script>"
    assert await render_pool.post_html(body) == render_post(body)
    assert await render_pool.comment_html(body) == render_comment(body)


async def test_a_render_over_budget_is_killed_and_only_it_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Warm both render processes first, so the tiny budget measures rendering only.
    await asyncio.gather(render_pool.post_html("a"), render_pool.post_html("b"))
    costly = "*a" * 50_000  # about a second of markdown-it
    monkeypatch.setattr(render_pool, "RENDER_BUDGET", 0.1)
    results = await asyncio.gather(
        render_pool.post_html(costly), render_pool.post_html("*innocent*"), return_exceptions=True
    )
    assert isinstance(results[0], TooComplex)
    assert results[1] == "<p><em>innocent</em></p>"
    # The killed process was replaced: rendering goes on.
    assert await render_pool.post_html("after") == "<p>after</p>"
    assert await render_pool.post_html("again") == "<p>again</p>"


# --- every entry point, through the test client -----------------------------

Count = Callable[[], Awaitable[tuple[int, int]]]


@pytest.fixture
async def writer(app: Quart, make_user: MakeUser, db: AsyncSession) -> tuple[User, int]:
    """A user who may write, and a post of theirs to comment on and edit."""
    user = await make_user("john")
    post = Post(body="original", body_html="<p>original</p>", author_id=user.id)
    db.add(post)
    await db.commit()
    return user, post.id


@pytest.fixture
def rows(db: AsyncSession) -> Count:
    async def count() -> tuple[int, int]:
        await db.rollback()  # a fresh snapshot: the app committed on its own connection
        posts = await db.scalar(select(func.count()).select_from(Post))
        comments = await db.scalar(select(func.count()).select_from(Comment))
        return int(posts or 0), int(comments or 0)

    return count


async def _stored_body(db: AsyncSession, post_id: int) -> str:
    await db.rollback()
    return (await db.get(Post, post_id)).body  # type: ignore[union-attr]


ALL_INPUTS = {**CORPUS, **OVERSIZED}


@pytest.mark.parametrize("name", list(ALL_INPUTS))
async def test_forms_answer_without_error_and_store_nothing_refused(
    name: str,
    client: Client,
    db: AsyncSession,
    writer: tuple[User, int],
    login: Login,
    submit: Submit,
    rows: Count,
) -> None:
    body = ALL_INPUTS[name]
    _, post_id = writer
    await login(client, "john@flasky.dev")
    before = await rows()

    response = await submit(client, "/", {"body": body})
    assert response.status_code < 500, name
    posts, comments = await rows()
    assert posts == before[0] + (1 if response.status_code == 302 else 0)

    response = await submit(client, f"/edit/{post_id}", {"body": body})
    assert response.status_code < 500, name
    if response.status_code != 302:
        assert await _stored_body(db, post_id) == "original"

    response = await submit(client, f"/post/{post_id}", {"body": comment_sized(body)})
    assert response.status_code < 500, name
    assert (await rows())[1] == comments + (1 if response.status_code == 302 else 0)

    response = await submit(client, "/preview", {"body": body})
    assert response.status_code < 500, name


@pytest.mark.parametrize("name", list(ALL_INPUTS))
async def test_api_answers_without_error_and_stores_nothing_refused(
    name: str,
    client: Client,
    db: AsyncSession,
    writer: tuple[User, int],
    api_auth: ApiAuth,
    rows: Count,
) -> None:
    body = ALL_INPUTS[name]
    _, post_id = writer
    token_response = await client.post(
        "/api/v1/tokens/", headers=api_auth("john@flasky.dev", "cat-password")
    )
    headers = api_auth((await token_response.get_json())["token"])
    before = await rows()

    response = await client.post("/api/v1/posts/", json={"body": body}, headers=headers)
    assert response.status_code in {201, 400}, name
    assert (await rows())[0] == before[0] + (response.status_code == 201)
    if response.status_code == 400:
        assert (await response.get_json())["error"] == "bad request"

    response = await client.put(f"/api/v1/posts/{post_id}", json={"body": body}, headers=headers)
    assert response.status_code in {200, 400}, name
    if response.status_code == 400:
        assert await _stored_body(db, post_id) == "original"

    path = f"/api/v1/posts/{post_id}/comments/"
    response = await client.post(path, json={"body": comment_sized(body)}, headers=headers)
    assert response.status_code in {201, 400}, name
    assert (await rows())[1] == before[1] + (response.status_code == 201)


# --- the limits, and the refusal as users see it ----------------------------


async def test_longer_than_the_limit_is_a_form_error_and_a_400_in_the_api(
    client: Client,
    writer: tuple[User, int],
    login: Login,
    submit: Submit,
    api_auth: ApiAuth,
    rows: Count,
) -> None:
    _, post_id = writer
    await login(client, "john@flasky.dev")
    response = await submit(client, "/", {"body": "a" * (POST_BODY_MAX + 1)})
    assert "cannot be longer than 100000 characters" in await response.get_data(as_text=True)
    response = await submit(client, f"/post/{post_id}", {"body": "a" * (COMMENT_BODY_MAX + 1)})
    assert "cannot be longer than 5000 characters" in await response.get_data(as_text=True)
    response = await submit(client, "/preview", {"body": "a" * (POST_BODY_MAX + 1)})
    assert response.status_code == 400

    headers = api_auth("john@flasky.dev", "cat-password")
    response = await client.post(
        "/api/v1/posts/", json={"body": "a" * (POST_BODY_MAX + 1)}, headers=headers
    )
    assert response.status_code == 400
    assert await response.get_json() == {
        "error": "bad request",
        "message": "post body must have at most 100000 characters",
    }
    path = f"/api/v1/posts/{post_id}/comments/"
    response = await client.post(path, json={"body": "a" * (COMMENT_BODY_MAX + 1)}, headers=headers)
    assert (await response.get_json())[
        "message"
    ] == "comment body must have at most 5000 characters"
    assert await rows() == (1, 0)

    response = await client.post(
        "/api/v1/posts/", json={"body": "a" * POST_BODY_MAX}, headers=headers
    )
    assert response.status_code == 201


async def test_about_me_has_a_limit(
    client: Client, db: AsyncSession, writer: tuple[User, int], login: Login, submit: Submit
) -> None:
    user, _ = writer
    await login(client, "john@flasky.dev")
    response = await submit(client, "/edit-profile", {"about_me": "a" * (ABOUT_ME_MAX + 1)})
    assert response.status_code == 200
    assert "between 0 and 2000 characters" in await response.get_data(as_text=True)
    await db.refresh(user)
    assert user.about_me is None
    response = await submit(client, "/edit-profile", {"about_me": "a" * ABOUT_ME_MAX})
    assert response.status_code == 302


async def test_too_complex_text_is_a_400_with_the_message_everywhere(
    client: Client,
    db: AsyncSession,
    writer: tuple[User, int],
    login: Login,
    submit: Submit,
    api_auth: ApiAuth,
    rows: Count,
) -> None:
    _, post_id = writer
    body = "<div>" * (MAX_HTML_NESTING + 1)
    await login(client, "john@flasky.dev")
    for path in ("/", f"/edit/{post_id}", f"/post/{post_id}"):
        response = await submit(client, path, {"body": body})
        assert response.status_code == 400, path
        assert TOO_COMPLEX in await response.get_data(as_text=True), path
    response = await submit(
        client, "/preview", {"body": body}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert (await response.get_json())["message"] == TOO_COMPLEX

    headers = api_auth("john@flasky.dev", "cat-password")
    for method, path in (
        ("POST", "/api/v1/posts/"),
        ("PUT", f"/api/v1/posts/{post_id}"),
        ("POST", f"/api/v1/posts/{post_id}/comments/"),
    ):
        response = await client.open(path, method=method, json={"body": body}, headers=headers)
        assert response.status_code == 400, path
        assert await response.get_json() == {"error": "bad request", "message": TOO_COMPLEX}
    assert await rows() == (1, 0)
    assert await _stored_body(db, post_id) == "original"


async def test_a_post_over_the_time_budget_is_refused_on_the_form(
    client: Client,
    writer: tuple[User, int],
    login: Login,
    submit: Submit,
    rows: Count,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await login(client, "john@flasky.dev")
    await render_pool.post_html("warm")
    monkeypatch.setattr(render_pool, "RENDER_BUDGET", 0.05)
    response = await submit(client, "/", {"body": "*a" * 50_000})
    assert response.status_code == 400
    assert TOO_COMPLEX in await response.get_data(as_text=True)
    assert await rows() == (1, 0)


# --- a live server keeps serving readers ------------------------------------


@pytest.mark.server
def test_readers_are_served_while_costly_posts_render(live_server: LiveServer) -> None:
    """Costly posts render in render processes: /healthz on other connections keeps answering.

    Rendered on the event loop, each of these posts would hold its worker for
    about a second, and a reader sent to that worker would wait as long.
    """
    account = run_sync(add_user(live_server.database_url, "heavy"))
    costly = "*a" * 40_000

    async def scenario() -> tuple[list[float], list[float], list[float], list[int]]:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as writer:
            response = await writer.post("/api/v1/tokens/", auth=(account.email, account.password))
            token = response.json()["token"]

            async def read_times(count: int) -> list[float]:
                times = []
                for _ in range(count):
                    async with httpx.AsyncClient(base_url=live_server.url) as reader:
                        started = time.monotonic()
                        assert (await reader.get("/healthz")).status_code == 200
                        times.append(time.monotonic() - started)
                return times

            async def write() -> tuple[float, int]:
                started = time.monotonic()
                response = await writer.post(
                    "/api/v1/posts/", json={"body": costly}, auth=(token, "")
                )
                return time.monotonic() - started, response.status_code

            await write()  # starts the render processes
            baseline = await read_times(20)
            writes = [asyncio.create_task(write()) for _ in range(4)]
            during = await read_times(40)
            done = await asyncio.gather(*writes)
            return baseline, during, [t for t, _ in done], [s for _, s in done]

    baseline, during, write_times, statuses = run_sync(scenario())
    assert all(status in {201, 400} for status in statuses), statuses
    # Readers wait far less than one costly render takes.
    assert max(during) < min(write_times) / 2, (baseline, during, write_times)
    assert statistics.median(during) < min(write_times) / 4
