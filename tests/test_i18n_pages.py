"""Every page in Chinese has no English left: a string nobody marked fails here.

Each page of SPEC §4 (and its error pages, flashes and form errors) is
rendered with `Accept-Language: zh-CN`, and every piece of text a reader sees
(text nodes, and the attributes a browser shows or reads aloud) is searched for
Latin words. User content (posts, comments, profiles, names, addresses) is written in
English on purpose and left out, as are the few words that are names, not
interface: Flasky, English, UTC, Atom, API.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from quart import Quart
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.models import Notification, NotificationKind, Post, User
from service.signed_links import RESET_PASSWORD, make_token

from . import two_factor
from .blog import add_comment, add_follow, add_message, add_post
from .fixtures import Client, Csrf, Login, MakeUser, Reconfigure, SignedIn, Submit, read_html

ZH = {"Accept-Language": "zh-CN"}
# The usernames and profile fields of the fixtures.
NAMES = ("admin", "mod", "john", "newbie", "Ada", "London")
WORD = re.compile(r"[A-Za-z]{2,}")
EMAIL = re.compile(r"\S+@\S+")
ALLOWED = {"Flasky", "English", "UTC", "Atom", "API"}
# Elements holding what users wrote, by class.
USER_CONTENT = {"post-body", "comment-body", "about-me", "post-author", "comment-author"}
SHOWN_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class VisibleText(HTMLParser):
    """The text a reader meets on a page, minus scripts, styles and user content (and input)."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []
        self._skipping: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = set((attributes.get("class") or "").split())
        skip = (
            bool(self._skipping and self._skipping[-1])
            or tag in {"script", "style", "textarea"}
            or bool(classes & USER_CONTENT)
        )
        if not skip:
            self.pieces += [v for k, v in attrs if k in SHOWN_ATTRIBUTES and v]
            if tag == "input" and attributes.get("type") in {"submit", "button"}:
                self.pieces.append(attributes.get("value") or "")
        if tag not in VOID:
            self._skipping.append(skip)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self._skipping:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not (self._skipping and self._skipping[-1]):
            self.pieces.append(data)


def english_words(html: str, *names: str) -> set[str]:
    """Latin words a Chinese reader would meet on the page, other than names."""
    parser = VisibleText()
    parser.feed(html)
    text = EMAIL.sub(" ", " ".join(parser.pieces))
    for name in names:
        text = text.replace(name, " ")
    return {word for word in WORD.findall(text) if word not in ALLOWED}


def test_the_scan_finds_english_and_skips_user_content() -> None:
    html = (
        '<p>登录 <b>Log In</b></p><div class="post-body"><p>Hello there</p></div>'
        '<button aria-label="Close">x</button><script>var a = "Oops";</script>'
    )
    assert english_words(html) == {"Log", "In", "Close"}


@pytest.fixture
async def blog(db: AsyncSession, make_user: MakeUser) -> dict[str, User]:
    """An administrator, a moderator and a user, with a post, comments and follows."""
    admin = await make_user("admin", role="Administrator", name="Ada", location="London")
    moderator = await make_user("mod", role="Moderator", about_me="I moderate things.")
    john = await make_user("john")
    post = await add_post(db, john, "A post about *things*")
    await add_comment(db, post, admin, "Nice post")
    await add_comment(db, post, moderator, "Rude words", disabled=True)
    await add_follow(db, admin, john)
    await add_follow(db, john, admin)
    message = await add_message(db, john, admin, "Hello admin")
    db.add_all(
        [
            Notification(user_id=admin.id, actor_id=john.id, kind=NotificationKind.FOLLOW),
            Notification(
                user_id=admin.id,
                actor_id=john.id,
                kind=NotificationKind.MESSAGE,
                message_id=message.id,
            ),
        ]
    )
    await db.commit()
    return {"admin": admin, "mod": moderator, "john": john}


async def assert_chinese(client: Client, path: str, status: int = 200) -> None:
    html = await read_html(await client.get(path, headers=ZH), status=status)
    assert '<html lang="zh-CN">' in html, path
    leftovers = english_words(html, *NAMES)
    assert not leftovers, f"English on {path}: {sorted(leftovers)}"


ANONYMOUS_PAGES = [
    "/",
    "/post/{post}",
    "/user/john",
    "/user/admin",
    "/followers/john",
    "/followed_by/john",
    "/auth/login",
    "/auth/register",
    "/auth/reset",
    "/search",
    "/search?q=%E5%A4%A9",
]
SIGNED_IN_PAGES = [
    "/",
    "/post/{post}",
    "/user/admin",
    "/user/john",
    "/edit-profile",
    "/edit-profile/{john}",
    "/edit/{post}",
    "/moderate",
    "/auth/change-password",
    "/auth/change_email",
    "/account/delete",
    "/messages",
    "/messages/john",
    "/notifications",
]


async def test_anonymous_pages_are_chinese(
    client: Client, blog: dict[str, User], db: AsyncSession
) -> None:
    post = await db.scalar(select(Post.id))
    for path in ANONYMOUS_PAGES:
        await assert_chinese(client, path.format(post=post))


async def test_signed_in_pages_are_chinese(
    client: Client, blog: dict[str, User], db: AsyncSession, signed_in: SignedIn
) -> None:
    post = await db.scalar(select(Post.id))
    async with signed_in(client, blog["admin"]):
        for path in SIGNED_IN_PAGES:
            await assert_chinese(client, path.format(post=post, john=blog["john"].id))


async def test_unconfirmed_page_is_chinese(
    client: Client, make_user: MakeUser, signed_in: SignedIn
) -> None:
    async with signed_in(client, await make_user("newbie", confirmed=False)):
        await assert_chinese(client, "/auth/unconfirmed")


async def test_password_reset_form_is_chinese(
    app: Quart, client: Client, make_user: MakeUser
) -> None:
    user = await make_user("john")
    async with app.app_context():
        token = make_token(RESET_PASSWORD, user)
    await assert_chinese(client, f"/auth/reset/{token}")


async def test_error_pages_are_chinese(
    client: Client, make_user: MakeUser, signed_in: SignedIn, csrf: Csrf
) -> None:
    await assert_chinese(client, "/no/such/page", 404)
    await assert_chinese(client, "/auth/logout", 405)
    async with signed_in(client, await make_user("john")):
        await assert_chinese(client, "/moderate", 403)
    token = await csrf(client, "/")
    response = await client.post("/language", form={"lang": "fr", "csrf_token": token}, headers=ZH)
    html = await read_html(response, status=400)
    assert "不支持的语言。" in html
    assert not english_words(html)


async def test_flashes_and_form_errors_are_chinese(
    client: Client, blog: dict[str, User], submit: Submit, signed_in: SignedIn
) -> None:
    answers = [
        await submit(client, "/auth/register", {"email": "x", "password": "a"}, headers=ZH),
        await submit(client, "/auth/login", {"email": "a@flasky.dev", "password": "b"}, headers=ZH),
        await client.get("/edit-profile", headers=ZH, follow_redirects=True),
    ]
    for response in answers:
        html = await read_html(response)
        # WTForms' own Chinese says "Email" in one message; that is its wording, not ours.
        leftovers = english_words(html) - {"Email"}
        assert not leftovers, sorted(leftovers)
    async with signed_in(client, blog["mod"]):
        for path in ("/follow/john", "/unfollow/john", "/follow/nobody"):
            response = await submit(client, path, {}, headers=ZH, follow_redirects=True)
            html = await read_html(response)
            assert 'class="alert' in html
            assert not english_words(html, "john", "mod", "admin"), path


async def test_login_lockout_is_chinese(
    client: Client, make_user: MakeUser, submit: Submit, reconfigure: Reconfigure
) -> None:
    reconfigure(login_max_failures=1)
    await make_user("john")
    form = {"email": "john@flasky.dev", "password": "wrong-password"}
    await submit(client, "/auth/login", form, headers=ZH)
    html = await read_html(await submit(client, "/auth/login", form, headers=ZH), status=429)
    assert "该账号登录失败次数过多" in html
    assert not english_words(html)


async def test_two_factor_pages_are_chinese(
    app: Quart,
    client: Client,
    make_user: MakeUser,
    signed_in: SignedIn,
    submit: Submit,
    login: Login,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = two_factor.freeze(monkeypatch)
    john = await make_user("john")
    async with signed_in(client, john):
        setup = await read_html(await client.get("/auth/two-factor", headers=ZH), status=200)
        # The secret, in base32, is the one Latin text a reader should meet there.
        assert not english_words(setup, await two_factor.read_secret(client))
        await two_factor.enable(client, submit, clock)
        await assert_chinese(client, "/auth/two-factor")
    browser = app.test_client()
    await login(browser, "john@flasky.dev")
    await assert_chinese(browser, "/auth/two-factor/verify")
    wrong = await submit(browser, "/auth/two-factor/verify", {"code": "000000"}, headers=ZH)
    html = await read_html(wrong, status=200)
    assert "验证码无效。" in html
    assert not english_words(html)


async def test_the_same_pages_in_english_have_no_chinese(
    client: Client, blog: dict[str, User]
) -> None:
    html = await read_html(await client.get("/user/admin"))
    assert "Member since" in html
    assert not re.search(r"[\u4e00-\u9fff]", html.replace(">中文<", ""))
