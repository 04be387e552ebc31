"""Posts: the home page, writing, editing and deleting, the All / Followed tabs, the preview."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service import pagination
from service.models import Comment, Permission, Post

from .blog import add_comment, add_follow, add_post, add_posts, add_role
from .fixtures import Client, CountStatements, Csrf, MakeUser, SignedIn, read_html


async def _post_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count(Post.id))) or 0)


async def test_home_greets_strangers(client: Client) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "Hello, Stranger!" in await read_html(response)


async def test_home_greets_the_user_and_offers_the_post_form_with_preview(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        html = await read_html(await client.get("/"))
    assert "Hello, john!" in html
    assert 'name="body"' in html
    assert 'class="markdown-preview' in html
    assert "/static/preview.js" in html


async def test_strangers_see_no_post_form(client: Client) -> None:
    assert 'name="body"' not in await read_html(await client.get("/"))


async def test_home_lists_posts_newest_first_with_author_and_comment_count(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    old = await add_post(db, john, "the *old* one", age=60)
    await add_post(db, john, "the new one")
    await add_comment(db, old, john)
    await add_comment(db, old, john)
    html = await read_html(await client.get("/"))
    assert html.index("the new one") < html.index("the <em>old</em> one")
    assert "/avatar/" in html and ">john</a>" in html
    assert "2 Comments" in html and "0 Comments" in html
    assert f'datetime="{old.timestamp.isoformat().replace("+00:00", "Z")}"' in html


async def test_writing_a_post_stores_rendered_markdown(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        response = await client.post(
            "/", form={"body": "Hello **world**", "csrf_token": await csrf(client, "/")}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/"
        html = await read_html(await client.get("/"))
    assert "<p>Hello <strong>world</strong></p>" in html
    post = await db.scalar(select(Post))
    assert post is not None and post.author_id == john.id and post.body == "Hello **world**"


async def test_an_empty_post_is_a_form_error_not_a_post(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        response = await client.post(
            "/", form={"body": "   ", "csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 200
    assert "This field is required." in await read_html(response)
    assert await _post_count(db) == 0


async def test_posting_needs_the_write_permission(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    await add_role(db, "Reader", Permission.FOLLOW | Permission.COMMENT)
    reader = await make_user("reader", role="Reader")
    async with signed_in(client, reader):
        assert 'name="body"' not in await read_html(await client.get("/"))
        response = await client.post(
            "/", form={"body": "hi", "csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 403
    assert await _post_count(db) == 0


async def test_strangers_cannot_post(client: Client, db: AsyncSession, csrf: Csrf) -> None:
    response = await client.post("/", form={"body": "hi", "csrf_token": await csrf(client)})
    assert response.status_code == 403
    assert await _post_count(db) == 0


async def test_posting_without_csrf_token_is_refused(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    async with signed_in(client, john):
        response = await client.post("/", form={"body": "hi"})
    assert response.status_code == 400
    assert await _post_count(db) == 0


async def test_home_is_paginated(client: Client, db: AsyncSession, make_user: MakeUser) -> None:
    john = await make_user("john")
    await add_posts(db, john, 21)
    first = await read_html(await client.get("/"))
    second = await read_html(await client.get("/?page=2"))
    assert "post 0<" in first and "post 19<" in first and "post 20<" not in first
    assert "post 20<" in second and "post 0<" not in second
    assert 'href="/?page=2"' in first


async def test_a_bad_page_number_shows_the_first_page(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    await add_post(db, await make_user("john"), "first page")
    for query in ("abc", "0", "-5", "99999999999999999999"):
        response = await client.get(f"/?page={query}")
        assert response.status_code == 200, query
    assert "first page" in await read_html(await client.get("/?page=abc"))


async def test_post_page_shows_the_post_with_a_delete_button_for_its_author(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "# Title")
    async with signed_in(client, john):
        html = await read_html(await client.get(f"/post/{post.id}"))
    assert "<h1>Title</h1>" in html
    assert f'action="/post/{post.id}/delete"' in html
    assert f'href="/edit/{post.id}"' in html


async def test_others_get_no_edit_or_delete_button(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    post = await add_post(db, await make_user("john"))
    async with signed_in(client, await make_user("susan")):
        html = await read_html(await client.get(f"/post/{post.id}"))
    assert f'href="/edit/{post.id}"' not in html
    assert f'action="/post/{post.id}/delete"' not in html


async def test_administrators_get_admin_edit_button(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    post = await add_post(db, await make_user("john"))
    async with signed_in(client, await make_user("admin", role="Administrator")):
        html = await read_html(await client.get("/"))
    assert "Edit [Admin]" in html
    assert f'action="/post/{post.id}/delete"' in html


async def test_unknown_or_malformed_post_ids_are_404(client: Client) -> None:
    for path in ("/post/999", "/post/abc", "/edit/abc", "/post/-1"):
        assert (await client.get(path)).status_code == 404, path


async def test_author_edits_a_post(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "before")
    async with signed_in(client, john):
        form_page = await read_html(await client.get(f"/edit/{post.id}"))
        assert "before</textarea>" in form_page
        response = await client.post(
            f"/edit/{post.id}", form={"body": "*after*", "csrf_token": await csrf(client, "/")}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == f"/post/{post.id}"
        html = await read_html(await client.get(f"/post/{post.id}"))
    assert "The post has been updated." in html
    assert "<em>after</em>" in html


async def test_others_cannot_edit_a_post(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    post = await add_post(db, await make_user("john"), "mine")
    async with signed_in(client, await make_user("susan")):
        assert (await client.get(f"/edit/{post.id}")).status_code == 403
        response = await client.post(
            f"/edit/{post.id}", form={"body": "hijacked", "csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 403
    await db.refresh(post)
    assert post.body == "mine"


async def test_administrators_edit_any_post(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    post = await add_post(db, await make_user("john"), "mine")
    async with signed_in(client, await make_user("admin", role="Administrator")):
        response = await client.post(
            f"/edit/{post.id}", form={"body": "moderated", "csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 302
    await db.refresh(post)
    assert post.body == "moderated"


async def test_editing_needs_a_login(client: Client, db: AsyncSession, make_user: MakeUser) -> None:
    post = await add_post(db, await make_user("john"))
    response = await client.get(f"/edit/{post.id}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


async def test_author_deletes_a_post_and_its_comments(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "doomed")
    await add_comment(db, post, john)
    async with signed_in(client, john):
        response = await client.post(
            f"/post/{post.id}/delete", form={"csrf_token": await csrf(client, "/")}
        )
        assert response.status_code == 302
        assert response.headers["Location"] == "/"
        html = await read_html(await client.get("/"))
    assert "The post has been deleted." in html
    assert "doomed" not in html
    assert await _post_count(db) == 0
    assert await db.scalar(select(func.count(Comment.id))) == 0


async def test_others_cannot_delete_a_post(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    post = await add_post(db, await make_user("john"))
    async with signed_in(client, await make_user("susan")):
        response = await client.post(
            f"/post/{post.id}/delete", form={"csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 403
    assert await _post_count(db) == 1


async def test_administrators_delete_any_post(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    post = await add_post(db, await make_user("john"))
    async with signed_in(client, await make_user("admin", role="Administrator")):
        response = await client.post(
            f"/post/{post.id}/delete", form={"csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 302
    assert await _post_count(db) == 0


async def test_delete_is_post_only(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    post = await add_post(db, john)
    async with signed_in(client, john):
        assert (await client.get(f"/post/{post.id}/delete")).status_code == 405
    assert await _post_count(db) == 1


async def test_deleting_an_unknown_post_is_404(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    async with signed_in(client, await make_user("john")):
        response = await client.post(
            "/post/999/delete", form={"csrf_token": await csrf(client, "/")}
        )
    assert response.status_code == 404


async def test_tabs_choose_between_all_and_followed_posts(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    susan = await make_user("susan")
    await make_user("david")
    await add_follow(db, john, susan)
    await add_post(db, john, "john writes")
    await add_post(db, susan, "susan writes")
    await add_post(db, await make_user("stranger"), "stranger writes")
    async with signed_in(client, john):
        response = await client.get("/followed")
        assert response.status_code == 302 and response.headers["Location"] == "/"
        followed = await read_html(await client.get("/"))
        await client.get("/all")
        everything = await read_html(await client.get("/"))
    assert "john writes" in followed and "susan writes" in followed
    assert "stranger writes" not in followed
    assert "stranger writes" in everything


async def test_show_followed_cookie_is_http_only_and_lasts_thirty_days(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("john")):
        response = await client.get("/followed")
    cookie = next(
        value for value in response.headers.getlist("Set-Cookie") if "show_followed" in value
    )
    assert cookie.startswith("show_followed=1;")
    assert "Max-Age=2592000" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


async def test_tabs_need_a_login(client: Client) -> None:
    for path in ("/all", "/followed"):
        response = await client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login"), path


async def test_followed_tab_with_no_follows_shows_own_posts_only(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john = await make_user("john")
    await add_post(db, john, "john writes")
    await add_post(db, await make_user("susan"), "susan writes")
    async with signed_in(client, john):
        await client.get("/followed")
        html = await read_html(await client.get("/"))
    assert "john writes" in html and "susan writes" not in html


async def test_preview_renders_with_the_post_renderer(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    async with signed_in(client, await make_user("john")):
        token = await csrf(client, "/")
        response = await client.post(
            "/preview",
            form={"body": "# Hi\n\n*there*\n\n<script>alert(1)</script>"},
            headers={"X-CSRFToken": token},
        )
    assert response.status_code == 200
    html = (await response.get_json())["html"]
    assert "<h1>Hi</h1>" in html and "<em>there</em>" in html
    assert "<script" not in html and "alert" not in html


async def test_preview_needs_a_csrf_token(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("john")):
        response = await client.post("/preview", form={"body": "hi"})
    assert response.status_code == 400


async def test_preview_needs_the_write_permission(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
    csrf: Csrf,
) -> None:
    await add_role(db, "Reader", Permission.FOLLOW)
    async with signed_in(client, await make_user("reader", role="Reader")):
        token = await csrf(client, "/")
        response = await client.post(
            "/preview", form={"body": "hi"}, headers={"X-CSRFToken": token}
        )
    assert response.status_code == 403


async def test_one_comment_is_counted_in_the_singular(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john = await make_user("john")
    await add_comment(db, await add_post(db, john, "a post"), john)
    html = await read_html(await client.get("/"))
    assert "1 Comment<" in html


async def test_the_index_past_its_bound_counts_once_a_while_and_a_profile_never(
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    count_statements: CountStatements,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # "More than" stays true as posts are written: a long list need not count it
    # each time. A profile's count comes with its user (the profile statement
    # counts their posts), so its list is never counted apart.
    monkeypatch.setattr(pagination, "EXACT_COUNT", 5)
    john = await make_user("john")
    await add_posts(db, john, 90)
    for path, counts in (("/", [1, 0]), ("/user/john", [0, 0])):
        pages = []
        statements = []
        for _ in range(2):
            with count_statements() as run:
                pages.append(await read_html(await client.get(path)))
            statements.append(len(run))
            counted = [s for s in run if s.startswith("SELECT count(*) AS count_1 \nFROM (")]
            assert len(counted) == counts[len(statements) - 1], path
        assert statements[1] == statements[0] - counts[0], path
        for html in pages:
            assert "post 0" in html and "page=5" in html and "page=6" not in html, path
