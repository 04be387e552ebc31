"""List items rendered once and reused (service.fragments): never stale, never another's."""

from __future__ import annotations

import re

from quart import Quart
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from service.markdown import render_post
from service.models import Comment, Post, User

from .blog import add_comment, add_post
from .fixtures import Client, MakeUser, SignedIn, Submit, read_html

ZH = {"Accept-Language": "zh-CN"}


def _post_list(html: str) -> str:
    return html.split('class="post-list"', 1)[1].split("</ul>", 1)[0]


async def test_an_administrators_buttons_never_reach_another_reader(
    app: Quart, client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    admin = await make_user("boss", role="Administrator")
    author = await make_user("john")
    post = await add_post(db, author, "a post on the index")
    async with signed_in(client, admin):
        html = await read_html(await client.get("/"))
        assert f'action="/post/{post.id}/delete"' in html and "Edit [Admin]" in html
    for reader in (app.test_client(), client):
        posts = _post_list(await read_html(await reader.get("/")))
        assert "a post on the index" in posts
        assert "/delete" not in posts and "Edit" not in posts and "csrf_token" not in posts


async def test_an_author_gets_their_own_buttons_and_others_get_the_shared_item(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    author = await make_user("john")
    reader = await make_user("susan")
    post = await add_post(db, author, "mine")
    async with signed_in(client, author):
        assert f'href="/edit/{post.id}"' in await read_html(await client.get("/"))
    async with signed_in(client, reader):
        assert f'href="/edit/{post.id}"' not in await read_html(await client.get("/"))


async def test_an_edit_a_new_comment_and_a_renamed_author_show_at_once(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    author = await make_user("john")
    post = await add_post(db, author, "first words")
    html = await read_html(await client.get("/"))
    assert "first words" in html and "0 Comments" in html
    await db.execute(
        update(Post)
        .where(Post.id == post.id)
        .values(body="second", body_html=render_post("second"))
    )
    await db.commit()
    await add_comment(db, post, author)
    author.username = "johnny"
    await db.commit()
    html = await read_html(await client.get("/"))
    assert "first words" not in html and "<p>second</p>" in html
    assert "1 Comment<" in html and ">johnny</a>" in html and ">john</a>" not in html


async def test_each_language_gets_its_own_item(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    post = await add_post(db, await make_user("john"), "bilingual")
    english = await read_html(await client.get(f"/post/{post.id}"))
    chinese = await read_html(await client.get(f"/post/{post.id}", headers=ZH))
    again = await read_html(await client.get(f"/post/{post.id}"))
    assert "0 Comments" in english and "0 Comments" in again
    assert "0 条评论" in chinese and "0 Comments" not in chinese


async def test_a_disabled_comment_shows_its_body_to_moderators_only(
    client: Client, db: AsyncSession, make_user: MakeUser, signed_in: SignedIn
) -> None:
    author = await make_user("john")
    post = await add_post(db, author)
    comment = await add_comment(db, post, author, "hidden words")
    await db.execute(update(Comment).where(Comment.id == comment.id).values(disabled=True))
    await db.commit()
    async with signed_in(client, await make_user("mod", role="Moderator")):
        assert "hidden words" in await read_html(await client.get(f"/post/{post.id}"))
    html = await read_html(await client.get(f"/post/{post.id}"))
    assert "hidden words" not in html and "disabled by a moderator" in html


def _page_links(html: str) -> str:
    return html.split('class="pagination"', 1)[1].split("</ul>", 1)[0]


async def test_page_links_follow_the_page_the_list_and_the_language(
    client: Client, db: AsyncSession, make_user: MakeUser
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    for number in range(30):  # 60 posts: three pages of 20
        await add_post(db, john, f"john {number}")
        await add_post(db, susan, f"susan {number}")
    first = _page_links(await read_html(await client.get("/")))
    second = _page_links(await read_html(await client.get("/?page=2")))
    assert (
        '<li class="page-item active" aria-current="page"><a class="page-link" href="/?page=1"'
        in first
    )
    assert (
        '<li class="page-item active" aria-current="page"><a class="page-link" href="/?page=2"'
        in second
    )
    assert 'href="/?page=3"' in first and 'href="/?page=3"' in second
    # Another list with the same count: its own links.
    johns = _page_links(await read_html(await client.get("/user/john")))
    susans = _page_links(await read_html(await client.get("/user/susan")))
    assert 'href="/user/john?page=2"' in johns and "susan" not in johns
    assert 'href="/user/susan?page=2"' in susans and "john" not in susans
    # The 61st post: a fourth page, at once.
    await add_post(db, john, "one more")
    assert 'href="/?page=4"' not in first
    assert 'href="/?page=4"' in _page_links(await read_html(await client.get("/")))
    assert 'aria-label="Next"' in first
    chinese = _page_links(await read_html(await client.get("/", headers=ZH)))
    assert 'aria-label="Next"' not in chinese


def _navbar(html: str) -> str:
    return html.split('<nav class="navbar', 1)[1].split("</nav>", 1)[0]


def _tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', html))


def _secrets(html: str) -> set[str]:
    """The signed secret of each token, without the timestamp and signature."""
    return {token.split(".", 1)[0] for token in _tokens(html)}


async def test_the_navbar_is_its_readers_with_their_own_token(
    app: Quart, client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    boss = await make_user("boss", role="Moderator")
    anonymous = _navbar(await read_html(await app.test_client().get("/")))
    assert 'href="/auth/login"' in anonymous and "Log Out" not in anonymous
    seen = {}
    for user in (john, susan, boss):
        async with signed_in(client, user):
            seen[user.username] = await read_html(await client.get("/"))
    for name, html in seen.items():
        navbar = _navbar(html)
        assert f'href="/user/{name}"' in navbar
        assert all(f'href="/user/{other}"' not in navbar for other in seen if other != name)
        assert ('href="/moderate"' in navbar) == (name == "boss")
        # One token on the page, the reader's: every form of the navbar carries it.
        assert len(_tokens(html)) == 1 and _tokens(navbar) == _tokens(html)
    other_browser = await read_html(await app.test_client().get("/"))
    assert _tokens(other_browser).isdisjoint(_tokens(anonymous))


async def test_the_navbar_token_logs_out(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("john")):
        for _ in range(2):  # the second page's navbar comes from the cache
            (token,) = _tokens(_navbar(await read_html(await client.get("/"))))
        refused = await client.post("/auth/logout", form={"csrf_token": token[:-2]})
        assert refused.status_code == 400
        response = await client.post("/auth/logout", form={"csrf_token": token})
        assert response.status_code == 302


async def test_the_navbar_follows_the_page_its_search_and_language(client: Client) -> None:
    index = _navbar(await read_html(await client.get("/")))
    assert 'name="next" value="/"' in index
    found = _navbar(await read_html(await client.get("/search?q=hello")))
    assert 'name="next" value="/search?q=hello"' in found and 'value="hello"' in found
    other = _navbar(await read_html(await client.get("/search?q=%3Cb%3Ebye")))
    assert 'value="&lt;b&gt;bye"' in other and "hello" not in other
    chinese = _navbar(await read_html(await client.get("/", headers=ZH)))
    assert chinese != index and 'lang="zh-CN"' in chinese


def _form(html: str) -> str:
    return html.split("<main", 1)[1].split('<form method="post"', 1)[1].split("</form>", 1)[0]


async def test_a_blank_form_is_shared_with_each_readers_token(
    app: Quart, client: Client, submit: Submit
) -> None:
    browsers = [app.test_client() for _ in range(2)]
    pages = [await read_html(await browser.get("/auth/login")) for browser in browsers]
    forms = [_form(page) for page in pages]
    first, second = (_tokens(form) for form in forms)
    assert len(first) == 1 and first != second
    assert forms[0].replace(first.pop(), "") == forms[1].replace(second.pop(), "")
    assert "保持登录" in _form(await read_html(await client.get("/auth/login", headers=ZH)))

    # What a reader typed, and what was wrong with it, is theirs alone.
    refused = _form(await read_html(await submit(client, "/auth/login", {"email": "x@y.z"})))
    assert 'value="x@y.z"' in refused and "This field is required." in refused
    again = _form(await read_html(await browsers[0].get("/auth/login")))
    assert "x@y.z" not in again and "This field is required." not in again
    (token,) = _tokens(again)
    login = await browsers[0].post(
        "/auth/login", form={"email": "x@y.z", "password": "wrong", "csrf_token": token}
    )
    assert login.status_code == 200  # the token was good: the password was not


async def test_a_post_form_with_text_in_it_shows_that_text(
    client: Client, make_user: MakeUser, signed_in: SignedIn, db: AsyncSession
) -> None:
    john = await make_user("john")
    post = await add_post(db, john, "my *own* words")
    async with signed_in(client, john):
        blank = _form(await read_html(await client.get("/")))
        editing = _form(await read_html(await client.get(f"/edit/{post.id}")))
        (token,) = _tokens(editing)
        saved = await client.post(f"/edit/{post.id}", form={"body": "new", "csrf_token": token})
    assert 'name="body"' in blank and "my *own* words" not in blank
    # The same reader's secret signs both; a second may tick between the pages.
    assert "my *own* words" in editing and _secrets(editing) == _secrets(blank)
    assert saved.status_code == 302


def _profile_head(html: str) -> str:
    return html.split('<div class="page-header profile-header">', 1)[1].split("<h3>", 1)[0]


async def test_a_profiles_head_is_its_viewers_with_their_own_token(
    app: Quart, client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    boss = await make_user("boss", role="Administrator")
    seen = {"anonymous": _profile_head(await read_html(await app.test_client().get("/user/john")))}
    for user in (john, susan, boss, susan):  # susan's second view comes from the cache
        async with signed_in(client, user):
            html = await read_html(await client.get("/user/john"))
            seen[user.username] = _profile_head(html)
            # One token on the page, the viewer's: the head's forms carry it.
            assert len(_tokens(html)) == 1 and _tokens(seen[user.username]) <= _tokens(html)
    anonymous = seen["anonymous"]
    assert 'action="/follow/john"' not in anonymous and "csrf_token" not in anonymous
    assert 'href="/edit-profile"' in seen["john"] and 'action="/follow/john"' not in seen["john"]
    assert 'action="/follow/john"' in seen["susan"] and 'action="/block/john"' in seen["susan"]
    assert 'href="/edit-profile"' not in seen["susan"]
    assert "john@flasky.dev" in seen["boss"] and f'href="/edit-profile/{john.id}"' in seen["boss"]
    assert all("john@flasky.dev" not in seen[name] for name in ("anonymous", "john", "susan"))


async def test_a_follow_and_an_edited_profile_show_in_its_head_at_once(
    app: Quart,
    client: Client,
    db: AsyncSession,
    make_user: MakeUser,
    signed_in: SignedIn,
) -> None:
    john, susan = await make_user("john"), await make_user("susan")
    async with signed_in(client, susan):
        head = _profile_head(await read_html(await client.get("/user/john")))
        assert 'action="/follow/john"' in head
        (token,) = _tokens(head)
        assert (await client.post("/follow/john", form={"csrf_token": token})).status_code == 302
        head = _profile_head(await read_html(await client.get("/user/john")))
        assert 'action="/unfollow/john"' in head and 'action="/follow/john"' not in head
    anonymous = _profile_head(await read_html(await app.test_client().get("/user/john")))
    assert re.search(r"Followers:.*?>1</span>", anonymous, re.DOTALL)
    await db.execute(update(User).where(User.id == john.id).values(about_me="New here."))
    await db.commit()
    anonymous = _profile_head(await read_html(await app.test_client().get("/user/john")))
    assert "New here." in anonymous
